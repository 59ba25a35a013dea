package cn.gridsafe

import cn.gridsafe.core.ActionInput
import cn.gridsafe.core.CancelHandle
import cn.gridsafe.core.EnrolSecret
import cn.gridsafe.core.FieldAnswer
import cn.gridsafe.core.FieldInput
import cn.gridsafe.core.FixChoice
import cn.gridsafe.core.ItemState
import cn.gridsafe.core.Language
import cn.gridsafe.core.TodayKind
import cn.gridsafe.core.GridSafeException
import cn.gridsafe.core.GridStore
import cn.gridsafe.core.HazardAction
import cn.gridsafe.core.HazardFilter
import cn.gridsafe.core.NewVenueInput
import cn.gridsafe.core.Outcome
import cn.gridsafe.core.PhotoInput
import cn.gridsafe.core.SyncListener
import cn.gridsafe.core.SyncProgress
import cn.gridsafe.core.VenueProfile
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.io.File
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit

/** Real Kotlin against the real Rust library and a real relay process. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GridSafeTest {
    private val root = File(System.getProperty("gridsafe.root") ?: "../..").canonicalFile
    private val lib = File(System.getProperty("gridsafe.lib") ?: "../../target/debug").canonicalFile
    private val directory = File(root, "examples/lvxiang-directory.json").readBytes()
    private val measure = File(root, "examples/photos/hose-measure.jpg").readBytes()
    private val before = File(root, "examples/photos/corridor-before.jpg").readBytes()
    private val after = File(root, "examples/photos/corridor-after.jpg").readBytes()
    private lateinit var relayData: Path
    private lateinit var relay: Process
    private lateinit var url: String

    private fun server(vararg args: String, env: Map<String, String> = emptyMap()): Process =
        ProcessBuilder(listOf(File(lib, "gridsafe-server").path) + args).also { it.environment().putAll(env) }
            .redirectError(ProcessBuilder.Redirect.INHERIT).start()

    @BeforeAll
    fun startRelay() {
        relayData = Files.createTempDirectory("gridsafe-relay")
        val data = relayData.toString()
        val dirFile = File(root, "examples/lvxiang-directory.json").path
        assertEquals(0, server("admin", "--data", data, "directory", dirFile).waitFor())
        for (u in listOf("wang", "sun", "zheng")) {
            assertEquals(0, server("admin", "--data", data, "passwd", u, env = mapOf("GRIDSAFE_PASSWORD" to "correct horse")).waitFor())
        }
        relay = server("serve", "--data", data, "--listen", "127.0.0.1:0", env = mapOf("RUST_LOG" to "warn"))
        val line = relay.inputStream.bufferedReader().readLine() ?: error("relay did not start")
        url = line.removePrefix("listening on ").trim()
    }

    @AfterAll
    fun stopRelay() {
        relay.destroy()
        relay.waitFor(10, TimeUnit.SECONDS)
        relayData.toFile().deleteRecursively()
    }

    private fun profile() = VenueProfile(
        venueType = listOf("small_restaurant"), floorsAboveGround = 2u, maxFloorAreaM2 = 80.0, buildingHeightM = 7.0,
        hasBasement = false, roofOrFloorsCombustible = false, usesByFloor = "1F 餐饮", residentsCount = 0u,
        isCrowdedPlace = false, gasSupply = "none",
    )

    private fun newStore(dir: Path, name: String): GridStore =
        GridStore.open(dir.resolve(name).toString()).also { it.importDirectory(directory) }

    /** An e-bike inspection with a flying lead and its before photo → one hazard. */
    private fun inspectionWithHazard(store: GridStore, venueName: String): String = runBlocking {
        val venue = store.addVenue(
            "wang",
            NewVenueInput(venueName, "和平村 1 号", "heping-1", profile(), "王老板", "13800000000", "123X"),
        )
        val insp = store.startInspection("wang", venue.id, "lx.ebike")
        val walk = store.answerAll("wang", insp.id, EBIKE_ANSWERS)
        val walked = walk.items.single { it.id == "ebike.flying_lead" }
        assertTrue(walked.state == ItemState.FAIL || walked.state == ItemState.NEEDS_PHOTO, "$walked")
        // The checklist screen's data: the pinned items, with results and the fields to ask.
        val checklist = store.checklist(insp.id)
        val lead = checklist.single { it.id == "ebike.flying_lead" }
        assertTrue(lead.photoRequired && lead.result.outcome == Outcome.FAIL && lead.fields.isNotEmpty(), "$lead")
        assertTrue(lead.questionZh.isNotBlank() && lead.questionEn.isNotBlank())
        val photo = store.attachPhoto("wang", insp.id, PhotoInput(before, "ebike.flying_lead", "before"))
        assertEquals(64, photo.sha256.length)
        assertTrue((photo.width ?: 0u) > 0u)
        val finished = store.finishInspection("wang", insp.id)
        assertEquals(1, finished.hazardIds.size)
        finished.hazardIds.single()
    }

    @Test
    fun `a full inspection with a real photo, hazards and transitions`(@TempDir dir: Path) = runBlocking {
        newStore(dir, "wang.sqlite").use { store ->
            val hazard = inspectionWithHazard(store, "老王车行")
            val listed = store.hazards(HazardFilter(scopeUser = "wang", openOnly = true))
            assertEquals(listOf(hazard), listed.map { it.id })
            assertEquals("registered", listed.single().state)
            // A claim without the after photo is refused by the rules, with the reason; nothing changes.
            val refused = assertThrows<GridSafeException.Refused> {
                runBlocking { store.transition("wang", hazard, ActionInput(HazardAction.CLAIM)) }
            }
            assertTrue(refused.reason.isNotBlank() && refused.code.isNotBlank(), refused.reason)
            assertEquals("registered", store.hazard(hazard).state)
            // The notice is served with its proof (a photo of the signed notice) before any claim.
            val notified = store.transition("wang", hazard, ActionInput(HazardAction.NOTIFY, photo = PhotoInput(after, role = "signature")))
            assertEquals("notified", notified.state)
            val claimed = store.transition("wang", hazard, ActionInput(HazardAction.CLAIM, photo = PhotoInput(after, role = "after")))
            assertEquals("rectified_claimed", claimed.state)
            assertTrue(claimed.history.size >= 3 && claimed.history.all { it.applied }, "${claimed.history}")
            // An inspector cannot close (审核销号 is the lead department's).
            assertThrows<GridSafeException.Refused> { runBlocking { store.transition("wang", hazard, ActionInput(HazardAction.CLOSE)) } }
            assertTrue(store.syncState().pendingDocs > 0uL, "not synced yet: the records wait")
        }
    }

    @Test
    fun `bad input becomes typed exceptions and nothing is lost`(@TempDir dir: Path) = runBlocking {
        val store = newStore(dir, "bad.sqlite")
        val hazard = inspectionWithHazard(store, "坏输入小店")
        assertThrows<GridSafeException.InvalidInput> { store.startInspection("wang", "not-an-id", "lx.ebike") }
        assertThrows<GridSafeException.NotFound> { store.hazard("0190b6c6-0000-7000-8000-000000000000") }
        val venue = store.venues("wang").first()
        val insp = store.startInspection("wang", venue.id, "lx.gas")
        assertThrows<GridSafeException.InvalidInput> {
            store.answerField("wang", insp.id, "gas.no_such_item", "yn", FieldAnswer.Yes, Language.ZH)
        }
        assertThrows<GridSafeException.InvalidInput> {
            runBlocking { store.attachPhoto("wang", insp.id, PhotoInput("not a photo".toByteArray(), role = "before")) }
        }
        assertThrows<GridSafeException.Incomplete> { store.finishInspection("wang", insp.id) }
        assertThrows<GridSafeException.Refused> { store.addVenue("wang", NewVenueInput("越界", "", "jialou-1", profile(), "", "", "")) }
        // Everything saved before is intact.
        assertEquals("registered", store.hazard(hazard).state)
        store.closeStore()
        val closed = assertThrows<GridSafeException.Closed> { store.venues(null) }
        assertTrue(closed.reason.contains("closed"))
        store.close()
        // A path that cannot hold a store is a typed error, not a crash.
        assertThrows<GridSafeException.Storage> { GridStore.open(dir.resolve("no/such/dir/x.sqlite").toString()) }
        assertThrows<GridSafeException.Storage> { GridStore.open(dir.toString()) }
        // A file that is not a GridSafe store is refused and left as it was.
        val foreign = dir.resolve("notes.txt").toFile().apply { writeText("购物清单") }
        assertThrows<GridSafeException.Storage> { GridStore.open(foreign.path) }
        assertEquals("购物清单", foreign.readText())
        // Reopened, the data is all there.
        withStore(dir.resolve("bad.sqlite").toString()) { assertEquals(1, it.hazards(HazardFilter()).size) }
    }

    @Test
    fun `two phones sync through a real relay with progress, cancel and typed errors`(@TempDir dir: Path) = runBlocking {
        val wang = newStore(dir, "wang.sqlite")
        val sun = newStore(dir, "sun.sqlite")
        assertThrows<GridSafeException.Unauthorized> {
            runBlocking { wang.enroll(url, "wang", EnrolSecret.Password("wrong password"), "phone") }
        }
        wang.enroll(url, "wang", EnrolSecret.Password("correct horse"), "wang's phone")
        sun.enroll(url, "sun", EnrolSecret.Password("correct horse"), "sun's phone")
        val hazard = inspectionWithHazard(wang, "同步车行")

        // Cancelled before it starts: typed error, nothing half-done; the next sync completes.
        val cancel = CancelHandle().also { it.cancel() }
        assertThrows<GridSafeException.Cancelled> { runBlocking { wang.sync(false, null, cancel) } }
        assertTrue(wang.syncState().pendingDocs > 0uL)

        // Cancelled mid-way, from the progress callback after the records' round trip and before
        // the photos: typed error; the records stay acknowledged, the photos wait.
        val midway = CancelHandle()
        assertThrows<GridSafeException.Cancelled> {
            runBlocking {
                wang.sync(false, object : SyncListener {
                    override fun onProgress(progress: SyncProgress) {
                        if (progress.roundTrips >= 1u) midway.cancel()
                    }
                }, midway)
            }
        }
        assertEquals(0uL, wang.syncState().pendingDocs, "the records went before the cancel")
        assertTrue(wang.syncState().pendingPhotos > 0uL, "the photos wait for the next sync")

        val seen = CopyOnWriteArrayList<SyncProgress>()
        val report = wang.sync(false, object : SyncListener {
            override fun onProgress(progress: SyncProgress) { seen.add(progress) }
        }, CancelHandle())
        assertTrue(report.refused.isEmpty(), "${report.refused}")
        assertTrue(seen.isNotEmpty() && seen.last().photosUploaded >= 1uL, "the next sync completes: $seen")
        assertEquals(0uL, wang.syncState().pendingDocs)
        assertEquals(0uL, wang.syncState().pendingPhotos)

        // The reviewer's phone learns of the hazard through the relay, as a Flow of progress.
        val events = sun.syncFlow().toList()
        assertTrue(events.last() is SyncEvent.Done, "$events")
        assertEquals("registered", sun.hazard(hazard).state)
        // The reviewer's decision reaches the inspector.
        wang.transition("wang", hazard, ActionInput(HazardAction.NOTIFY, photo = PhotoInput(after, role = "signature")))
        wang.transition("wang", hazard, ActionInput(HazardAction.CLAIM, photo = PhotoInput(after, role = "after")))
        wang.syncFlow().toList()
        sun.syncFlow().toList()
        assertEquals("closed", sun.transition("sun", hazard, ActionInput(HazardAction.CLOSE)).state)
        sun.syncFlow().toList()
        wang.syncFlow().toList()
        assertEquals("closed", wang.hazard(hazard).state)
        assertEquals(wang.syncState().lastSync != null, true)
        wang.close()
        sun.close()
        assertFalse(File(dir.toFile(), "wang.sqlite").length() == 0L)
    }

    private class MapVault : KeyVault {
        val map = HashMap<String, ByteArray>()
        override fun get(name: String) = map[name]?.copyOf()
        override fun put(name: String, value: ByteArray) { map[name] = value.copyOf() }
        override fun remove(name: String) { map.remove(name) }
    }

    @Test
    fun `the store is encrypted with the vault's key, rotates, and survives a rotation cut short`(@TempDir dir: Path) = runBlocking {
        val path = dir.resolve("enc.sqlite").toString()
        val vault = MapVault()
        val keys = StoreKeys(vault)
        val hazard = keys.open(path).use { store ->
            store.importDirectory(directory)
            assertTrue(store.isEncrypted())
            inspectionWithHazard(store, "加密小店")
        }
        val raw = File(path).readBytes()
        assertFalse(String(raw, Charsets.ISO_8859_1).startsWith("SQLite format 3"), "no plain header")
        assertFalse(raw.toString(Charsets.UTF_8).contains("加密小店"), "the venue name is not readable in the file")
        // Without the key, or with another: typed errors, and the store is unchanged.
        assertThrows<GridSafeException.Storage> { GridStore.open(path) }
        assertThrows<GridSafeException.WrongKey> { GridStore.openEncrypted(path, ByteArray(32) { 7 }) }
        assertThrows<GridSafeException.InvalidInput> { GridStore.openEncrypted(path, ByteArray(5)) }
        assertTrue(raw.contentEquals(File(path).readBytes()), "a wrong key changes nothing")

        // Rotation, then a rotation the app did not live through: the file was rewritten under the
        // pending key but the key was never promoted. The next launch still opens the store.
        val first = vault.get(StoreKeys.CURRENT)!!
        keys.open(path).use { keys.rotate(it) }
        assertFalse(first.contentEquals(vault.get(StoreKeys.CURRENT)!!))
        assertEquals(null, vault.get(StoreKeys.PENDING))
        val next = ByteArray(32) { (it + 1).toByte() }
        keys.open(path).use { store ->
            vault.put(StoreKeys.PENDING, next)
            store.rekey(next) // ...and the app is killed before StoreKeys promotes the key
        }
        keys.open(path).use { store -> assertEquals("registered", store.hazard(hazard).state) }
        assertTrue(next.contentEquals(vault.get(StoreKeys.CURRENT)!!))
        assertEquals(null, vault.get(StoreKeys.PENDING))

        // An encrypted phone syncs like any other.
        keys.open(path).use { store ->
            store.enroll(url, "wang", EnrolSecret.Password("correct horse"), "enc-phone")
            val report = store.sync(false, null, CancelHandle())
            assertTrue(report.refused.isEmpty(), "${report.refused}")
            assertEquals(0uL, store.syncState().pendingDocs)
        }
    }

    /**
     * The grid worker's day through the screens (issue #33): Today, a venue and the checklists
     * that apply to it, a gas walk with typed answers, findings with a major candidate routed to
     * 规建办 that the phone cannot close, 即改 with before and after photos, sync, and the
     * department's close on its own phone reaching Today after the next sync.
     */
    @Test
    fun `the grid worker's day through the screens`(@TempDir dir: Path) = runBlocking {
        val wang = newStore(dir, "day.sqlite")
        val zheng = newStore(dir, "zheng.sqlite")
        wang.enroll(url, "wang", EnrolSecret.Password("correct horse"), "王建国的手机")
        zheng.enroll(url, "zheng", EnrolSecret.Password("correct horse"), "郑红的手机")
        val first = wang.todayScreen("wang")
        assertEquals(listOf("已逾期隐患", "到期复查", "待核查工单", "本月未检查场所"), first.sections.map { it.title })
        assertEquals("Overdue hazards", wang.todayScreen("wang", Language.EN).sections.first().title)

        val lpg = profile().copy(gasSupply = "lpg", hasBasement = true, isCrowdedPlace = true)
        val venue = wang.addVenue("wang", NewVenueInput("老王小吃", "和平村 8 号", "heping-1", lpg, "王老板", "13800000000", "123X"))
        val file = wang.venueFileScreen("wang", venue.id)
        assertTrue(file.checklists.single { it.templateId == "lx.gas" }.applies)
        assertFalse(file.checklists.single { it.templateId == "lx.selfbuilt" }.applies)
        val coverage = wang.todayScreen("wang").sections.single { it.kind == TodayKind.NOT_INSPECTED_THIS_MONTH }
        assertTrue(coverage.rows.any { it.title == "老王小吃" }, "$coverage")

        val insp = wang.startInspection("wang", venue.id, "lx.gas")
        var walk = wang.walkScreen(insp.id)
        assertEquals(0u, walk.answered)
        val hoseField = walk.items.single { it.id == "gas.hose_length" }.fields.single()
        assertEquals(FieldInput.Number("米"), hoseField.input)
        assertEquals("≤ 2 米", hoseField.rule)
        // A number, a yes/no and a choice, each judged at once.
        walk = wang.answerFieldOf("wang", insp.id, "gas.hose_length", "length", FieldAnswer.Number(2.4))
        assertEquals(ItemState.NEEDS_PHOTO, walk.items.single { it.id == "gas.hose_length" }.state)
        walk = wang.answerFieldOf("wang", insp.id, "gas.lpg_underground", "yn", FieldAnswer.Yes)
        assertEquals(2u, walk.answered)
        val pressure = walk.items.single { it.id == "gas.pipeline_encroachment" }.fields.single { it.key == "pressure" }
        val option = (pressure.input as FieldInput.Choice).options.first()
        walk = wang.answerFieldOf("wang", insp.id, "gas.pipeline_encroachment", "pressure", FieldAnswer.Choice(option.key))
        assertEquals(option.label, walk.items.single { it.id == "gas.pipeline_encroachment" }.fields.single { it.key == "pressure" }.answer)
        // Bad input: the reason, and nothing saved.
        val answered = walk.answered
        val negative = assertThrows<GridSafeException.InvalidInput> {
            runBlocking { wang.answerFieldOf("wang", insp.id, "gas.hose_length", "length", FieldAnswer.Number(-3.0)) }
        }
        // In words: the question as asked and what it takes, no item code.
        assertTrue(negative.reason.startsWith("「软管长度」") && !negative.reason.contains("gas."), negative.reason)
        assertThrows<GridSafeException.InvalidInput> {
            runBlocking { wang.answerFieldOf("wang", insp.id, "gas.cylinder_count", "in_use_5", FieldAnswer.Text("三个")) }
        }
        // What was typed into a count box goes as typed; the core reads it or says why not.
        val typed = assertThrows<GridSafeException.InvalidInput> {
            runBlocking { wang.answerFieldOf("wang", insp.id, "gas.cylinder_count", "in_use_5", FieldAnswer.Typed("三个")) }
        }
        assertTrue(typed.reason.endsWith("须填写整数，“三个”不是整数"), typed.reason)
        assertThrows<GridSafeException.InvalidInput> { runBlocking { wang.walkScreen("not-an-id") } }
        assertEquals(answered, wang.walkScreen(insp.id).answered)

        // The rest of the walk, its photos, and what finishing will register.
        wang.answerAll("wang", insp.id, GAS_ANSWERS)
        walk = wang.walkScreen(insp.id)
        for (item in walk.items.filter { it.state == ItemState.NEEDS_PHOTO }) {
            wang.attachPhoto("wang", insp.id, PhotoInput(measure, item.id, "before"))
        }
        walk = wang.walkScreen(insp.id)
        assertTrue(walk.canFinish, "${walk.blockers}")
        val findings = wang.findingsOf(insp.id)
        val major = findings.single { it.itemId == "gas.lpg_underground" }
        assertTrue(major.majorCandidate && !major.onSpotAllowed && major.departments.contains("规建办"), "$major")
        val hose = findings.single { it.itemId == "gas.hose_length" }
        assertTrue(hose.onSpotAllowed)
        val done = wang.finishInspectionWith("wang", insp.id, listOf(FixChoice("gas.hose_length", "on_spot")))
        val hazards = wang.hazards(HazardFilter(scopeUser = "wang", openOnly = true))
        val majorId = hazards.single { it.itemId == "gas.lpg_underground" }.id
        val hoseId = hazards.single { it.itemId == "gas.hose_length" }.id
        assertTrue(done.hazardIds.containsAll(listOf(majorId, hoseId)))
        val majorScreen = wang.hazardScreenOf("wang", majorId)
        assertTrue(majorScreen.actions.none { it.action == HazardAction.CLOSE || it.action == HazardAction.RECTIFY }, "${majorScreen.actions}")
        // 即改: fixed in the visit, its after photo taken now.
        val hoseScreen = wang.hazardScreenOf("wang", hoseId)
        assertTrue(hoseScreen.actions.any { it.action == HazardAction.RECTIFY }, "${hoseScreen.actions}")
        wang.transition("wang", hoseId, ActionInput(HazardAction.RECTIFY, photo = PhotoInput(after, "gas.hose_length", "after")))
        assertEquals("待审核销号", wang.hazardScreenOf("wang", hoseId).state)

        // Sync; 规建办 closes it on its phone; Today refreshes after the worker's next sync.
        val screens = java.util.concurrent.LinkedBlockingQueue<cn.gridsafe.core.TodayScreen>()
        val job = launch(kotlinx.coroutines.Dispatchers.IO) { wang.todayUpdates("wang").collect { screens.put(it) } }
        screens.poll(30, TimeUnit.SECONDS) ?: error("no first Today")
        wang.syncFlow().toList()
        zheng.syncFlow().toList()
        assertEquals("closed", zheng.transition("zheng", hoseId, ActionInput(HazardAction.CLOSE)).state)
        zheng.syncFlow().toList()
        screens.clear()
        wang.syncFlow().toList()
        val after = screens.poll(30, TimeUnit.SECONDS) ?: error("Today did not refresh after the sync")
        assertEquals(0uL, after.pendingRecords, "$after")
        assertTrue(after.syncLine.startsWith("上次同步"), after.syncLine)
        assertEquals("已销号", wang.hazardScreenOf("wang", hoseId).state)

        // The notice left with the owner: what is still open at the venue (the major), numbered
        // on the phone, in words and times a person reads.
        val notice = wang.noticeHtml("wang", venue.id)
        assertTrue(notice.contains("整改通知书") && notice.contains("老王小吃"), notice.take(400))
        assertTrue(notice.contains("液化") && !notice.contains("gas.lpg_underground"), notice.take(400))
        assertFalse(Regex("""\d{4}-\d{2}-\d{2}T\d{2}:""").containsMatchIn(notice), "no ISO timestamp")
        job.cancel()
        wang.close()
        zheng.close()
    }
}
