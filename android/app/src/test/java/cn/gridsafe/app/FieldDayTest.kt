package cn.gridsafe.app

import android.app.Activity
import android.content.Intent
import android.graphics.Bitmap
import android.graphics.Canvas
import android.net.Uri
import android.provider.MediaStore
import android.view.View
import android.view.ViewGroup
import android.webkit.WebView
import androidx.compose.ui.test.SemanticsNodeInteraction
import androidx.compose.ui.test.assertIsSelected
import androidx.compose.ui.test.assertTextEquals
import androidx.compose.ui.test.hasAnyDescendant
import androidx.compose.ui.test.hasTestTag
import androidx.compose.ui.test.hasText
import androidx.compose.ui.test.junit4.createAndroidComposeRule
import androidx.compose.ui.test.onAllNodesWithTag
import androidx.compose.ui.test.onAllNodesWithText
import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performScrollToNode
import androidx.compose.ui.test.performTextReplacement
import androidx.work.WorkInfo
import androidx.work.WorkManager
import androidx.work.testing.WorkManagerTestInitHelper
import cn.gridsafe.GAS_ANSWERS
import cn.gridsafe.answerAll
import cn.gridsafe.app.ui.PhotoFiles
import cn.gridsafe.core.ActionInput
import cn.gridsafe.core.CancelHandle
import cn.gridsafe.core.EnrolSecret
import cn.gridsafe.core.GridStore
import cn.gridsafe.core.HazardAction
import cn.gridsafe.core.HazardFilter
import cn.gridsafe.core.ItemState
import cn.gridsafe.core.Language
import cn.gridsafe.hazardScreenOf
import cn.gridsafe.venueListScreen
import cn.gridsafe.walkScreen
import kotlinx.coroutines.runBlocking
import org.junit.AfterClass
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.BeforeClass
import org.junit.Rule
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode
import java.io.File
import java.nio.file.Files

/**
 * A grid worker's day on the phone, through the app's screens, against the real core (JNA, the
 * host-built library) and a real relay: enrol with a one-time code; Today; add a venue through
 * its profile questions; the gas walk with a number typed wrong and then right, yes/no, and real
 * JPEGs through the system camera's result; the findings with an LPG-in-basement major candidate
 * routed to 规建办; 即改 with the after photo; sync through WorkManager; the department's close
 * arriving; the notice; two 12345 tickets verified on site. Each screen is drawn to target/android-artifacts at 390 × 844 dp.
 */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
@Config(sdk = [34], application = TestApp::class, qualifiers = "zh-rCN-w390dp-h844dp-xhdpi")
class FieldDayTest {
    @get:Rule
    val compose = createAndroidComposeRule<MainActivity>()

    private val store: GridStore get() = (compose.activity.application as GridSafeApp).store
    private val photos = File(relay.root, "examples/photos")

    @Test
    fun `a grid worker's day through the app`() {
        // Enrol: a wrong code is refused in words, the right one enrols and brings the directory.
        compose.onNodeWithTag("enrol-server").performTextReplacement(relay.url)
        compose.onNodeWithTag("enrol-user").performTextReplacement("wang")
        compose.onNodeWithTag("enrol-code").performTextReplacement("not-a-code")
        compose.onNodeWithText("登记").performClick()
        waitFor { compose.onAllNodesWithTag("problem").fetchSemanticsNodes().isNotEmpty() }
        shot("01-enrol-refused")
        compose.onNodeWithTag("enrol-code").performTextReplacement(relay.enrolCode("wang"))
        compose.onNodeWithText("登记").performClick()
        waitForText("已逾期隐患", substring = true)
        for (title in listOf("到期复查", "待核查工单", "本月未检查场所")) {
            compose.onNodeWithText(title, substring = true).assertExists()
        }
        shot("02-today")

        // A venue added through its profile questions.
        compose.onNodeWithText("场所").performClick()
        waitFor { compose.onAllNodesWithTag("venues").fetchSemanticsNodes().isNotEmpty() }
        shot("03-venues")
        compose.onNodeWithTag("add-venue").performClick()
        waitFor { compose.onAllNodesWithTag("venue-form").fetchSemanticsNodes().isNotEmpty() }
        val form = compose.onNodeWithTag("venue-form")
        fun type(key: String, text: String) = form.scrollTo("form:$key:input").performTextReplacement(text)
        fun tap(key: String, option: String) = form.scrollTo("form:$key:$option").performClick()
        type("name", "老王小吃")
        type("address", "吕巷镇和平村8号")
        tap("grid_id", "heping-1")
        type("responsible.name", "王老板")
        type("responsible.phone", "13800000000")
        tap("profile.venue_type", "small_restaurant")
        tap("profile.gas_supplies", "lpg")
        type("profile.floors_above_ground", "2")
        type("profile.max_floor_area_m2", "80")
        type("profile.building_height_m", "7")
        tap("profile.has_basement", "yes")
        type("profile.residents_count", "0")
        tap("profile.is_crowded_place", "yes")
        tap("profile.roof_or_floors_combustible", "no")
        form.performScrollToNode(hasTestTag("form:name:input"))
        shot("04-venue-form")
        form.scrollTo("save-venue").performClick()
        waitFor { compose.onAllNodesWithTag("venue-file").fetchSemanticsNodes().isNotEmpty() }
        compose.onNodeWithText("老王小吃").assertExists()
        shot("05-venue-file")
        // Today now lists it among the venues not inspected this month; its row opens the file.
        back()
        compose.onNodeWithText("今日").performClick()
        waitForText("老王小吃")
        compose.onNodeWithText("本月未检查场所（1）").assertExists()
        shot("05b-today-venue-to-inspect")
        compose.onNodeWithText("老王小吃").performClick()
        waitFor { compose.onAllNodesWithTag("venue-file").fetchSemanticsNodes().isNotEmpty() }

        // The checklists that apply come from the core; the gas one starts the walk.
        compose.onNodeWithTag("venue-file").scrollTo("start-lx.gas").performClick()
        waitFor { compose.onAllNodesWithTag("walk").fetchSemanticsNodes().isNotEmpty() }
        val venueId = runBlocking { store.venueListScreen("wang").rows.single { it.name == "老王小吃" }.id }
        val inspection = store.venueFile("wang", venueId, Language.ZH).inspections.single().id
        val walk = compose.onNodeWithTag("walk")
        // A number typed wrong: the core's reason, in words, and nothing saved.
        walk.scrollTo("gas.hose_length:length:input").performTextReplacement("两米")
        walk.scrollTo("gas.hose_length:length:ok").performClick()
        waitForText("「软管长度」须填写数字（米），“两米”不是数字")
        walk.scrollTo("gas.hose_length:length:input").performTextReplacement("-3")
        walk.scrollTo("gas.hose_length:length:ok").performClick()
        waitForText("超出范围", substring = true)
        shot("06-walk-bad-input")
        assertEquals(0u, runBlocking { store.walkScreen(inspection) }.answered)
        walk.scrollTo("gas.hose_length:length:input").performTextReplacement("2.4")
        walk.scrollTo("gas.hose_length:length:ok").performClick()
        waitForText("✓ 2.4 米")
        walk.scrollTo("gas.lpg_underground:yn:yes").performClick()
        waitFor { runBlocking { store.walkScreen(inspection) }.answered == 2u }
        // What was tapped stays marked.
        compose.waitUntil(10_000) {
            runCatching { compose.onNodeWithTag("gas.lpg_underground:yn:yes").assertIsSelected() }.isSuccess
        }
        // The rest of the walk as the bindings' tests answer it, then the walk opened again
        // (an app killed mid-walk comes back where it was).
        runBlocking { store.answerAll("wang", inspection, GAS_ANSWERS - "gas.hose_length" - "gas.lpg_underground") }
        back()
        waitFor { compose.onAllNodesWithTag("venue-file").fetchSemanticsNodes().isNotEmpty() }
        compose.onNodeWithTag("venue-file").scrollTo("inspection:$inspection").performClick()
        waitFor { compose.onAllNodesWithTag("walk").fetchSemanticsNodes().isNotEmpty() }
        // Every photo the rules ask for, through the system camera's result: a real JPEG.
        val needPhotos = runBlocking { store.walkScreen(inspection) }.items.filter { it.state == ItemState.NEEDS_PHOTO }
        assertTrue("the hose and the basement cylinders need photos: $needPhotos", needPhotos.size >= 2)
        for (item in needPhotos) {
            photo(compose.onNodeWithTag("walk").scrollTo("photo:${item.id}"), File(photos, "hose-measure.jpg"))
            waitFor { runBlocking { store.walkScreen(inspection) }.items.single { it.id == item.id }.photosTaken > 0u }
        }
        waitFor { runBlocking { store.walkScreen(inspection) }.canFinish }
        compose.onNodeWithTag("walk").scrollTo("item:gas.hose_length")
        shot("07-walk")

        // Findings: the major candidate goes to 规建办 and cannot be fixed on the spot; the hose is 即改.
        compose.onNodeWithTag("walk").scrollTo("to-findings").performClick()
        waitFor { compose.onAllNodesWithTag("findings").fetchSemanticsNodes().isNotEmpty() }
        compose.onNodeWithTag("findings").scrollTo("finding:gas.lpg_underground")
        compose.onNode(
            hasTestTag("finding:gas.lpg_underground") and hasAnyDescendant(hasText("规建办", substring = true)) and
                hasAnyDescendant(hasText("重大", substring = true)),
        ).assertExists()
        // No 即改 offered for the major candidate.
        compose.onNodeWithTag("on-spot:gas.lpg_underground").assertDoesNotExist()
        compose.onNodeWithTag("findings").scrollTo("on-spot:gas.hose_length").performClick()
        compose.onNodeWithTag("findings").performScrollToNode(hasTestTag("finding:gas.lpg_underground"))
        shot("08-findings")
        compose.onNodeWithTag("findings").scrollTo("finish").performClick()
        waitFor { compose.onAllNodesWithTag("venue-file").fetchSemanticsNodes().isNotEmpty() }
        val open = store.hazards(HazardFilter(scopeUser = "wang", openOnly = true))
        val hose = open.single { it.itemId == "gas.hose_length" }.id
        val major = open.single { it.itemId == "gas.lpg_underground" }.id
        val majorScreen = runBlocking { store.hazardScreenOf("wang", major) }
        assertTrue("${majorScreen.actions}", majorScreen.actions.none { it.action == HazardAction.CLOSE || it.action == HazardAction.RECTIFY })
        // A sync was asked for right after finishing (records go on any connection).
        assertTrue(work(Sync.AFTER_INSPECTION).isNotEmpty())

        // 即改: the after photo, taken now, through the camera.
        compose.onNodeWithTag("venue-file").scrollTo("hazard:$hose").performClick()
        waitFor { compose.onAllNodesWithTag("hazard").fetchSemanticsNodes().isNotEmpty() }
        compose.onNodeWithTag("hazard").scrollTo("offer:RECTIFY")
        compose.onNodeWithTag("hazard").scrollTo("submit:RECTIFY").performClick()
        waitFor { compose.onAllNodesWithTag("problem").fetchSemanticsNodes().isNotEmpty() }
        photo(compose.onNodeWithTag("hazard").scrollTo("offer-photo:RECTIFY"), File(photos, "corridor-after.jpg"))
        waitForText("照片已拍好")
        compose.onNodeWithTag("hazard").scrollTo("submit:RECTIFY").performClick()
        waitForText("待审核销号", substring = true)
        compose.onNodeWithTag("hazard").performScrollToNode(hasTestTag("hazard-state"))
        shot("09-hazard")

        // Sync now, through WorkManager, with its progress; then nothing waits.
        back()
        back()
        compose.onNodeWithText("同步").performClick()
        waitFor { compose.onAllNodesWithTag("sync").fetchSemanticsNodes().isNotEmpty() }
        syncNow()
        waitForText("没有待同步的记录和照片")
        shot("10-sync")

        // 规建办's reviewer closes the 即改 on their own phone; it reaches this phone's next sync.
        val zhengDir = Files.createTempDirectory("zheng").toFile()
        GridStore.open(File(zhengDir, "zheng.sqlite").path).use { zheng ->
            runBlocking {
                zheng.enroll(relay.url, "zheng", EnrolSecret.Password("correct horse"), "郑红的手机")
                zheng.sync(false, null, CancelHandle())
                assertEquals("closed", zheng.transition("zheng", hose, ActionInput(HazardAction.CLOSE)).state)
                zheng.sync(false, null, CancelHandle())
            }
        }
        zhengDir.deleteRecursively()
        syncNow()
        waitFor { runBlocking { store.hazardScreenOf("wang", hose) }.state == "已销号" }
        compose.onNodeWithText("今日").performClick()
        waitForText("本月未检查场所", substring = true)
        shot("11-today-after-close")

        // The notice for the owner: what is still open (the major candidate), as the core lays it out.
        compose.onNodeWithText("场所").performClick()
        waitFor { compose.onAllNodesWithTag("venue:$venueId").fetchSemanticsNodes().isNotEmpty() }
        shot("11b-venues-after-the-visit")
        compose.onNodeWithTag("venue:$venueId").performClick()
        waitFor { compose.onAllNodesWithTag("open-notice").fetchSemanticsNodes().isNotEmpty() }
        compose.onNodeWithTag("open-notice").performClick()
        waitFor { compose.onAllNodesWithTag("print").fetchSemanticsNodes().isNotEmpty() }
        // Numbered on this phone; the major candidate still open is listed with what it requires.
        compose.onNode(hasTestTag("notice-summary") and hasAnyDescendant(hasText("号", substring = true))).assertExists()
        compose.onNode(hasTestTag("notice-summary") and hasAnyDescendant(hasText("重大", substring = true))).assertExists()
        val html = compose.runOnIdle { shadowOf(webView(compose.activity.window.decorView)).lastLoadDataWithBaseURL.data }
        assertTrue(html.take(300), html.contains("整改通知书") && html.contains("老王小吃") && html.contains("液化"))
        assertFalse("no item code", html.contains("gas.lpg_underground"))
        assertFalse("no ISO time", Regex("""\d{4}-\d{2}-\d{2}T\d{2}:""").containsMatchIn(html))
        shot("12-notice")

        tickets(venueId)
    }

    /**
     * Two 12345 tickets the town office entered for the grid reach Today; each row opens its
     * ticket. 属实 without a venue is refused in words; with the venue nearest the address, the
     * matching item, what is there and a photo it registers the hazard the screen then shows.
     * 不属实 with a reason picked from the screen closes the other.
     */
    private fun tickets(venueId: String) {
        relay.enterTicket("T-1", "2026-12-01 09:30", "吕巷镇和平村8号 小吃店", "后厨液化气瓶无报警器", "城镇燃气", "heping-1")
        relay.enterTicket("T-2", "2026-12-01 10:00", "吕巷镇和平村3号", "楼道堆放杂物", "生命通道", "heping-1")
        back()
        back()
        compose.onNodeWithText("同步").performClick()
        waitFor { compose.onAllNodesWithTag("sync").fetchSemanticsNodes().isNotEmpty() }
        syncNow()
        compose.onNodeWithText("今日").performClick()
        waitForText("待核查工单（2）")
        compose.onNodeWithTag("today").performScrollToNode(hasText("12345 T-1", substring = true))
        shot("13-today-tickets")
        compose.onNodeWithText("12345 T-1", substring = true).performClick()
        waitFor { compose.onAllNodesWithTag("ticket").fetchSemanticsNodes().isNotEmpty() }
        compose.onNodeWithText("收到 2026-12-01 09:30").assertExists()
        compose.onNodeWithTag("ticket-status").assertTextEquals("待核查")
        val ticket = compose.onNodeWithTag("ticket")
        ticket.scrollTo("ticket-true").performClick()
        ticket.scrollTo("ticket-submit").performClick()
        waitForText("请选择隐患所在的场所", substring = true)
        ticket.scrollTo("ticket-venue:$venueId").performClick()
        ticket.scrollTo("ticket-finding").performTextReplacement("后厨两瓶液化气，无燃气报警器")
        photo(ticket.scrollTo("ticket-photo"), File(photos, "hose-measure.jpg"))
        waitForText("照片已拍好")
        ticket.scrollTo("ticket-items").performClick()
        ticket.scrollTo("ticket-item:gas.alarm_installed").performClick()
        waitForText("用气场所是否安装可燃气体报警装置", substring = true)
        ticket.performScrollToNode(hasTestTag("ticket-true"))
        shot("14-ticket-verdict")
        ticket.scrollTo("ticket-submit").performClick()
        waitFor { compose.onAllNodesWithTag("hazard").fetchSemanticsNodes().isNotEmpty() }
        compose.onNodeWithText("后厨两瓶液化气，无燃气报警器").assertExists()
        shot("15-ticket-hazard")

        back()
        waitForText("待核查工单（1）")
        compose.onNodeWithTag("today").performScrollToNode(hasText("12345 T-2", substring = true))
        compose.onNodeWithText("12345 T-2", substring = true).performClick()
        waitFor { compose.onAllNodesWithTag("ticket").fetchSemanticsNodes().isNotEmpty() }
        ticket.scrollTo("ticket-false").performClick()
        ticket.scrollTo("ticket-reason:0").performClick()
        ticket.scrollTo("ticket-submit").performClick()
        waitFor { runCatching { compose.onNodeWithTag("ticket-status").assertTextEquals("不属实") }.isSuccess }
        compose.onNodeWithText("查无此事").assertExists()
        compose.onNodeWithText("王建国", substring = true).assertExists()
        compose.onNodeWithTag("ticket-submit").assertDoesNotExist()
        shot("16-ticket-not-substantiated")
    }

    // -----------------------------------------------------------------------------------------

    private fun SemanticsNodeInteraction.scrollTo(tag: String): SemanticsNodeInteraction {
        performScrollToNode(hasTestTag(tag))
        return compose.onNodeWithTag(tag)
    }

    /** Waits for [condition]; on a timeout the screen as it stood is kept beside the others. */
    private fun waitFor(condition: () -> Boolean) {
        try {
            compose.waitUntil(60_000, condition)
        } catch (e: Throwable) {
            shot("failed-here")
            throw e
        }
    }

    private fun waitForText(text: String, substring: Boolean = false) =
        waitFor { compose.onAllNodesWithText(text, substring = substring).fetchSemanticsNodes().isNotEmpty() }

    private fun back() = compose.runOnUiThread { compose.activity.onBackPressedDispatcher.onBackPressed() }

    /** Taps [button], and answers the camera intent it starts as the camera app would: the JPEG written to the app's uri. */
    private fun photo(button: SemanticsNodeInteraction, jpeg: File) {
        button.performClick()
        compose.runOnIdle {
            val activity = compose.activity
            val started = shadowOf(activity).nextStartedActivityForResult ?: error("the camera was not started")
            assertEquals(MediaStore.ACTION_IMAGE_CAPTURE, started.intent.action)
            @Suppress("DEPRECATION")
            val uri = started.intent.getParcelableExtra<Uri>(MediaStore.EXTRA_OUTPUT) ?: error("no output uri")
            PhotoFiles.fileOf(activity, uri).writeBytes(jpeg.readBytes())
            shadowOf(activity).receiveResult(started.intent, Activity.RESULT_OK, Intent())
        }
    }

    private fun work(name: String): List<WorkInfo> = WorkManager.getInstance(compose.activity).getWorkInfosForUniqueWork(name).get()

    /** Taps 立即同步 and lets WorkManager run it (the test driver stands for a network). */
    private fun syncNow() {
        compose.onNodeWithTag("sync").scrollTo("sync-now").performClick()
        val id = work(Sync.NOW).last { !it.state.isFinished }.id
        WorkManagerTestInitHelper.getTestDriver(compose.activity)!!.setAllConstraintsMet(id)
        waitFor { WorkManager.getInstance(compose.activity).getWorkInfoById(id).get()?.state == WorkInfo.State.SUCCEEDED }
        compose.waitForIdle()
    }

    private fun webView(v: View): WebView = when (v) {
        is WebView -> v
        is ViewGroup -> (0 until v.childCount).firstNotNullOfOrNull { runCatching { webView(v.getChildAt(it)) }.getOrNull() }
            ?: error("no WebView")
        else -> error("no WebView")
    }

    /** The whole window drawn from its root view (what the worker sees), as a PNG. */
    private fun shot(name: String) {
        compose.waitForIdle()
        compose.runOnIdle {
            val root = compose.activity.window.decorView.rootView
            val bitmap = Bitmap.createBitmap(root.width, root.height, Bitmap.Config.ARGB_8888)
            root.draw(Canvas(bitmap))
            val dir = File(System.getProperty("gridsafe.artifacts") ?: "build/artifacts").apply { mkdirs() }
            File(dir, "$name.png").outputStream().use { bitmap.compress(Bitmap.CompressFormat.PNG, 100, it) }
        }
    }

    companion object {
        private lateinit var relay: Relay

        @BeforeClass
        @JvmStatic
        fun start() {
            relay = Relay()
        }

        @AfterClass
        @JvmStatic
        fun stop() = relay.stop()
    }
}
