package cn.gridsafe.app

import android.Manifest
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.result.contract.ActivityResultContracts
import androidx.camera.core.ImageCapture
import androidx.camera.core.ImageCaptureException
import androidx.camera.core.ImageProxy
import androidx.camera.view.LifecycleCameraController
import androidx.camera.view.PreviewView
import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.platform.LocalLifecycleOwner
import androidx.compose.ui.unit.dp
import androidx.compose.ui.viewinterop.AndroidView
import androidx.core.content.ContextCompat
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.rememberNavController
import cn.gridsafe.SyncEvent
import cn.gridsafe.core.ActionInput
import cn.gridsafe.core.ChecklistItem
import cn.gridsafe.core.EnrolSecret
import cn.gridsafe.core.FieldAnswer
import cn.gridsafe.core.GridSafeException
import cn.gridsafe.core.GridStore
import cn.gridsafe.core.HazardAction
import cn.gridsafe.core.HazardFilter
import cn.gridsafe.core.Language
import cn.gridsafe.core.Outcome
import cn.gridsafe.core.PhotoInput
import cn.gridsafe.syncFlow
import kotlinx.coroutines.launch

/**
 * The shell: screens over the binding layer. Every rule, evaluation and refusal comes from the
 * Rust core; this file only renders and forwards what the worker does. Chinese first; the
 * English text core provides is shown under it.
 */
class MainActivity : ComponentActivity() {
    private val camera = registerForActivityResult(ActivityResultContracts.RequestPermission()) {}

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        camera.launch(Manifest.permission.CAMERA)
        val store = (application as GridSafeApp).store
        setContent { MaterialTheme { GridSafeNav(store) } }
    }
}

/** The signed-in worker (the enrolled user of this phone). */
private fun user(store: GridStore): String = store.syncState().enrolledUser ?: ""

@Composable
fun GridSafeNav(store: GridStore) {
    val nav = rememberNavController()
    val start = if (store.syncState().enrolledUser == null) "enrol" else "venues"
    NavHost(nav, startDestination = start) {
        composable("enrol") { EnrolScreen(store) { nav.navigate("venues") } }
        composable("venues") {
            VenuesScreen(store, onInspect = { id -> nav.navigate("inspect/$id") }, onHazards = { nav.navigate("hazards") })
        }
        composable("inspect/{inspection}") { back ->
            ChecklistScreen(store, back.arguments?.getString("inspection") ?: "") { nav.popBackStack() }
        }
        composable("hazards") { HazardsScreen(store) }
    }
}

@Composable
fun EnrolScreen(store: GridStore, done: () -> Unit) {
    var server by remember { mutableStateOf("https://") }
    var name by remember { mutableStateOf("") }
    var code by remember { mutableStateOf("") }
    var error by remember { mutableStateOf<String?>(null) }
    val scope = rememberCoroutineScope()
    Column(Modifier.padding(16.dp)) {
        Text("注册本机 Enrol this phone", style = MaterialTheme.typography.titleLarge)
        OutlinedTextField(server, { server = it }, label = { Text("服务器 Server") }, modifier = Modifier.fillMaxWidth())
        OutlinedTextField(name, { name = it }, label = { Text("用户名 User") }, modifier = Modifier.fillMaxWidth())
        OutlinedTextField(code, { code = it }, label = { Text("一次性注册码 One-time code") }, modifier = Modifier.fillMaxWidth())
        Button(onClick = {
            scope.launch {
                error = try {
                    store.enroll(server.trim(), name.trim(), EnrolSecret.Code(code.trim()), android.os.Build.MODEL)
                    done()
                    null
                } catch (e: GridSafeException) {
                    e.message
                }
            }
        }) { Text("注册 Enrol") }
        error?.let { Text(it, color = MaterialTheme.colorScheme.error) }
    }
}

@Composable
fun VenuesScreen(store: GridStore, onInspect: (String) -> Unit, onHazards: () -> Unit) {
    val me = user(store)
    var venues by remember { mutableStateOf(store.venues(me)) }
    var status by remember { mutableStateOf(store.syncState()) }
    var syncing by remember { mutableStateOf<String?>(null) }
    val scope = rememberCoroutineScope()
    Column(Modifier.fillMaxSize()) {
        Row(Modifier.padding(8.dp)) {
            Text("待同步 ${status.pendingDocs} 条记录 / ${status.pendingPhotos} 张照片 · 上次同步 ${status.lastSync ?: "从未"}")
        }
        Row(Modifier.padding(8.dp)) {
            Button(onClick = {
                scope.launch {
                    try {
                        store.syncFlow().collect { e ->
                            syncing = when (e) {
                                is SyncEvent.Progress -> "同步中 ${e.progress.docsPushed}↑ ${e.progress.docsPulled}↓ 照片 ${e.progress.photosUploaded}"
                                is SyncEvent.Done -> null
                            }
                        }
                    } catch (e: GridSafeException) {
                        syncing = e.message
                    }
                    venues = store.venues(me)
                    status = store.syncState()
                }
            }) { Text("立即同步 Sync now") }
            Button(onClick = onHazards, modifier = Modifier.padding(start = 8.dp)) { Text("隐患 Hazards") }
        }
        syncing?.let { Text(it, Modifier.padding(8.dp)) }
        LazyColumn {
            items(venues, key = { it.id }) { v ->
                ListItem(
                    headlineContent = { Text(v.name) },
                    supportingContent = { Text("${v.address} · 上次检查 ${v.lastInspected ?: "无"}") },
                    modifier = Modifier.clickable {
                        val template = if ("small_restaurant" in v.venueTypes) "lx.gas" else "lx.ebike"
                        onInspect(store.startInspection(me, v.id, template).id)
                    },
                )
            }
        }
    }
}

@Composable
fun ChecklistScreen(store: GridStore, inspectionId: String, done: () -> Unit) {
    val me = user(store)
    var items by remember { mutableStateOf(store.checklist(inspectionId)) }
    var message by remember { mutableStateOf<String?>(null) }
    var capturing by remember { mutableStateOf<ChecklistItem?>(null) }
    val scope = rememberCoroutineScope()
    capturing?.let { item ->
        CameraCapture { bytes ->
            capturing = null
            scope.launch {
                message = try {
                    store.attachPhoto(me, inspectionId, PhotoInput(bytes, item.id, "before"))
                    "已拍照 Photo attached"
                } catch (e: GridSafeException) {
                    e.message
                }
            }
        }
        return
    }
    Column(Modifier.fillMaxSize()) {
        message?.let { Text(it, Modifier.padding(8.dp)) }
        LazyColumn(Modifier.weight(1f)) {
            items(items.filter { it.result.outcome != Outcome.NOT_APPLICABLE }, key = { it.id }) { item ->
                Column(Modifier.padding(8.dp)) {
                    Text(item.questionZh, style = MaterialTheme.typography.titleMedium)
                    Text(item.questionEn, style = MaterialTheme.typography.bodySmall)
                    item.fields.filter { it.kind == "yn" }.forEach { f ->
                        Row {
                            for ((label, value) in listOf("是 Yes" to "yes", "否 No" to "no")) {
                                Button(onClick = {
                                    val answer = if (value == "yes") FieldAnswer.Yes else FieldAnswer.No
                                    message = try {
                                        store.answerField(me, inspectionId, item.id, f.key, answer, Language.ZH)
                                        items = store.checklist(inspectionId)
                                        null
                                    } catch (e: GridSafeException) {
                                        e.message
                                    }
                                }, modifier = Modifier.padding(end = 8.dp)) { Text(label) }
                            }
                        }
                    }
                    if (item.result.outcome == Outcome.FAIL) {
                        item.result.findingsZh.forEach { Text(it, color = MaterialTheme.colorScheme.error) }
                        if (item.photoRequired) Button(onClick = { capturing = item }) { Text("拍照取证 Photo") }
                    }
                }
            }
        }
        Button(onClick = {
            message = try {
                val f = store.finishInspection(me, inspectionId)
                done()
                "登记隐患 ${f.hazardIds.size} 项"
            } catch (e: GridSafeException) {
                e.message
            }
        }, modifier = Modifier.padding(8.dp).fillMaxWidth()) { Text("完成检查 Finish") }
    }
}

@Composable
fun HazardsScreen(store: GridStore) {
    val me = user(store)
    var hazards by remember { mutableStateOf(store.hazards(HazardFilter(scopeUser = me, openOnly = true))) }
    var message by remember { mutableStateOf<String?>(null) }
    var claiming by remember { mutableStateOf<String?>(null) }
    val scope = rememberCoroutineScope()
    claiming?.let { id ->
        CameraCapture { bytes ->
            claiming = null
            scope.launch {
                message = try {
                    store.transition(me, id, ActionInput(HazardAction.CLAIM, photo = PhotoInput(bytes, role = "after")))
                    hazards = store.hazards(HazardFilter(scopeUser = me, openOnly = true))
                    "已提交整改 Rectification claimed"
                } catch (e: GridSafeException) {
                    e.message
                }
            }
        }
        return
    }
    Column {
        message?.let { Text(it, Modifier.padding(8.dp)) }
        LazyColumn {
            items(hazards, key = { it.id }) { h ->
                ListItem(
                    headlineContent = { Text("${h.titleZh} · ${h.venueName}") },
                    supportingContent = { Text("${h.state} · 期限 ${h.dueDate ?: "—"}${if (h.overdue) " · 已逾期" else ""}") },
                    modifier = Modifier.clickable { claiming = h.id },
                )
            }
        }
    }
}

/** CameraX capture to JPEG bytes; the core makes the evidence copy and reads the EXIF. */
@Composable
fun CameraCapture(onPhoto: (ByteArray) -> Unit) {
    val context = LocalContext.current
    val owner = LocalLifecycleOwner.current
    val controller = remember { LifecycleCameraController(context) }
    LaunchedEffect(owner) { controller.bindToLifecycle(owner) }
    Column(Modifier.fillMaxSize()) {
        AndroidView({ PreviewView(it).also { v -> v.controller = controller } }, Modifier.weight(1f).fillMaxWidth())
        Button(onClick = {
            controller.takePicture(ContextCompat.getMainExecutor(context), object : ImageCapture.OnImageCapturedCallback() {
                override fun onCaptureSuccess(image: ImageProxy) {
                    val buffer = image.planes[0].buffer
                    val bytes = ByteArray(buffer.remaining()).also { buffer.get(it) }
                    image.close()
                    onPhoto(bytes)
                }

                override fun onError(exception: ImageCaptureException) {}
            })
        }, modifier = Modifier.padding(16.dp).fillMaxWidth()) { Text("拍照 Take photo") }
    }
}
