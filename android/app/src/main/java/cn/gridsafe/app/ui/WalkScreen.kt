package cn.gridsafe.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.lazy.rememberLazyListState
import androidx.compose.material3.AssistChip
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import cn.gridsafe.answerFieldOf
import cn.gridsafe.app.R
import cn.gridsafe.core.ItemState
import cn.gridsafe.core.PhotoInput
import cn.gridsafe.core.WalkItem
import cn.gridsafe.core.WalkScreen
import cn.gridsafe.walkScreen
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * The inspection walk: the applicable items in order, each answered field by field and judged at
 * once; photos through the camera; what still blocks finishing. Every answer is saved as it is
 * given, so a killed app comes back here where it was.
 */
@Composable
fun WalkScreen(app: AppContext, inspectionId: String) {
    val (loaded, retry) = rememberLoaded(inspectionId) { app.store.walkScreen(inspectionId, app.lang) }
    var walk by remember(inspectionId) { mutableStateOf<WalkScreen?>(null) }
    LaunchedEffect(loaded) { if (loaded is Loaded.Ready) walk = loaded.value }
    // The item a refusal is about, with the core's words.
    var problem by remember { mutableStateOf<Pair<String, String>?>(null) }
    var photoFor by remember { mutableStateOf<String?>(null) }
    val scope = rememberUiScope()
    val noCamera = stringResource(R.string.camera_missing)
    val camera = rememberCamera(onNoCamera = { problem = (photoFor ?: "") to noCamera }) { bytes ->
        val item = photoFor ?: return@rememberCamera
        scope.attempt({ r -> problem = r?.let { item to it } }) {
            app.store.attachPhoto(app.user, inspectionId, PhotoInput(bytes, item, "before"))
            walk = app.store.walkScreen(inspectionId, app.lang)
        }
    }
    val w = walk
    if (w == null) {
        Show(loaded, retry) {}
        return
    }
    val list = rememberLazyListState()
    LazyColumn(Modifier.fillMaxSize().testTag("walk"), state = list) {
        item {
            Column(Modifier.padding(16.dp)) {
                Text(w.venueName, style = MaterialTheme.typography.titleLarge)
                Text(w.checklist)
                Text(stringResource(R.string.walk_progress, w.answered.toInt(), w.total.toInt()), modifier = Modifier.testTag("progress"))
                LinearProgressIndicator(
                    progress = { if (w.total == 0u) 1f else w.answered.toFloat() / w.total.toFloat() },
                    modifier = Modifier.fillMaxWidth().padding(top = 4.dp),
                )
            }
        }
        items(w.items, key = { it.id }) { item ->
            ItemCard(
                item = item,
                finished = w.finished,
                problem = problem?.takeIf { it.first == item.id }?.second,
                answer = { key, a ->
                    scope.attempt({ r -> problem = r?.let { item.id to it } }) {
                        walk = app.store.answerFieldOf(app.user, inspectionId, item.id, key, a, app.lang)
                    }
                },
                notApplicable = {
                    scope.attempt({ r -> problem = r?.let { item.id to it } }) {
                        walk = withContext(Dispatchers.IO) { app.store.markNotApplicable(app.user, inspectionId, item.id, app.lang) }
                    }
                },
                photo = {
                    photoFor = item.id
                    camera()
                },
            )
        }
        if (!w.finished) {
            item {
                if (w.blockers.isNotEmpty()) {
                    Heading(stringResource(R.string.blockers))
                    for (b in w.blockers) {
                        Text("${b.number}. ${b.question}：${b.why}", Modifier.padding(horizontal = 16.dp, vertical = 2.dp))
                    }
                }
                Button(
                    enabled = w.canFinish,
                    onClick = { app.nav.open(Route.Findings(inspectionId)) },
                    modifier = Modifier.fillMaxWidth().padding(16.dp).testTag("to-findings"),
                ) { Text(stringResource(R.string.to_findings)) }
            }
        }
    }
}

@Composable
private fun ItemCard(
    item: WalkItem,
    finished: Boolean,
    problem: String?,
    answer: (String, cn.gridsafe.core.FieldAnswer) -> Unit,
    notApplicable: () -> Unit,
    photo: () -> Unit,
) {
    Card(Modifier.fillMaxWidth().padding(horizontal = 12.dp, vertical = 6.dp).testTag("item:${item.id}")) {
        Column(Modifier.padding(12.dp)) {
            Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                Text("${item.number}. ${item.question}", style = MaterialTheme.typography.titleSmall, modifier = Modifier.weight(1f))
                StateChip(item.state)
            }
            item.help?.let { Text(it, style = MaterialTheme.typography.bodySmall, color = MaterialTheme.colorScheme.onSurfaceVariant) }
            for (f in item.fields) {
                HorizontalDivider(Modifier.padding(vertical = 6.dp))
                Text(f.label)
                f.rule?.let { Text(it, style = MaterialTheme.typography.bodySmall, color = MaterialTheme.colorScheme.secondary) }
                f.answer?.let { Text("✓ $it", modifier = Modifier.testTag("answer:${item.id}:${f.key}")) }
                if (!finished) {
                    FieldEntry("${item.id}:${f.key}", f.input, f.chosen.toSet(), allowNotApplicable = true) { a -> answer(f.key, a) }
                }
            }
            if (item.state == ItemState.FAIL || item.state == ItemState.NEEDS_PHOTO) {
                item.findings.forEach { Text(it, color = MaterialTheme.colorScheme.error) }
            }
            item.photo?.let { need ->
                Text(need, style = MaterialTheme.typography.bodySmall)
                Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    if (!finished) OutlinedButton(onClick = photo, modifier = Modifier.testTag("photo:${item.id}")) { Text(stringResource(R.string.take_photo)) }
                    if (item.photosTaken > 0u) Text(stringResource(R.string.photos_taken, item.photosTaken.toInt()))
                }
            }
            if (!finished && item.state == ItemState.UNANSWERED) {
                OutlinedButton(onClick = notApplicable) { Text(stringResource(R.string.item_not_applicable)) }
            }
            problem?.let { Problem(it, Modifier.padding(top = 6.dp)) }
        }
    }
}

@Composable
private fun StateChip(state: ItemState) {
    val (text, color) = when (state) {
        ItemState.PASS -> R.string.state_pass to Color(0xFF2E7D32)
        ItemState.FAIL -> R.string.state_fail to Color(0xFFB3261E)
        ItemState.NEEDS_PHOTO -> R.string.state_needs_photo to Color(0xFFB3261E)
        ItemState.NOT_APPLICABLE -> R.string.state_na to Color.Gray
        ItemState.INFO -> R.string.state_info to Color(0xFF1F5AA6)
        ItemState.UNANSWERED -> R.string.state_unanswered to Color.Gray
    }
    AssistChip(onClick = {}, label = { Text(stringResource(text), color = color) })
}
