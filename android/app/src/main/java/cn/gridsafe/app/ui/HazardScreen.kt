package cn.gridsafe.app.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateMapOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import cn.gridsafe.app.R
import cn.gridsafe.core.ActionInput
import cn.gridsafe.core.HazardScreen
import cn.gridsafe.core.Need
import cn.gridsafe.core.Offer
import cn.gridsafe.core.PhotoInput
import cn.gridsafe.hazardScreenOf

/** A hazard: its state and history in words, and only the actions this worker may take now. */
@Composable
fun HazardScreen(app: AppContext, hazardId: String) {
    val (loaded, retry) = rememberLoaded(hazardId) { app.store.hazardScreenOf(app.user, hazardId, app.lang) }
    Show(loaded, retry) { h -> HazardBody(app, h, retry) }
}

@Composable
private fun HazardBody(app: AppContext, h: HazardScreen, reload: () -> Unit) {
    LazyColumn(Modifier.fillMaxSize().testTag("hazard")) {
        item {
            Column(Modifier.padding(16.dp)) {
                Text(h.title, style = MaterialTheme.typography.titleLarge)
                Text(h.venue)
                Text(h.finding, color = MaterialTheme.colorScheme.error)
                Text("${h.state} · ${h.severity}", style = MaterialTheme.typography.titleMedium, modifier = Modifier.testTag("hazard-state"))
                if (h.deadline.isNotBlank()) {
                    Text(stringResource(R.string.deadline_is, h.deadline), color = if (h.overdue) MaterialTheme.colorScheme.error else MaterialTheme.colorScheme.onSurface)
                }
                Text(h.departments)
                h.handler?.let { Text(it) }
                h.basis.forEach { Text(it, style = MaterialTheme.typography.bodySmall) }
            }
            Heading(stringResource(R.string.actions))
            if (h.actions.isEmpty()) Text(stringResource(R.string.no_actions), Modifier.padding(horizontal = 16.dp))
        }
        items(h.actions, key = { it.action.name }) { offer -> OfferCard(app, h.id, offer, reload) }
        item { Heading(stringResource(R.string.history)) }
        items(h.history) { e ->
            Column(Modifier.padding(horizontal = 16.dp, vertical = 4.dp)) {
                Text("${e.at} ${e.what}", style = MaterialTheme.typography.bodyMedium,
                    color = if (e.refused) MaterialTheme.colorScheme.error else MaterialTheme.colorScheme.onSurface)
                Text(listOf(e.who, e.note).filter { it.isNotBlank() }.joinToString(" · "), style = MaterialTheme.typography.bodySmall)
            }
        }
    }
}

/** One action with the inputs it needs (a photo, a deadline, a text); refused with the rule's words. */
@Composable
private fun OfferCard(app: AppContext, hazardId: String, offer: Offer, reload: () -> Unit) {
    var photo by remember { mutableStateOf<Pair<String, ByteArray>?>(null) }
    val texts = remember { mutableStateMapOf<String, String>() }
    var problem by remember { mutableStateOf<String?>(null) }
    val scope = rememberUiScope()
    var photoRole by remember { mutableStateOf("") }
    val noCamera = stringResource(R.string.camera_missing)
    val camera = rememberCamera(onNoCamera = { problem = noCamera }) { bytes -> photo = photoRole to bytes }
    Card(Modifier.fillMaxWidth().padding(horizontal = 12.dp, vertical = 6.dp).testTag("offer:${offer.action.name}")) {
        Column(Modifier.padding(12.dp)) {
            Text(offer.label, style = MaterialTheme.typography.titleSmall)
            for (need in offer.needs) {
                when (need) {
                    is Need.Photo -> {
                        Text(need.label)
                        OutlinedButton(onClick = { photoRole = need.role; camera() }, modifier = Modifier.testTag("offer-photo:${offer.action.name}")) {
                            Text(stringResource(R.string.take_photo))
                        }
                        if (photo?.first == need.role) Text(stringResource(R.string.photo_ready))
                    }
                    is Need.Deadline -> OutlinedTextField(
                        texts["deadline"] ?: "", { texts["deadline"] = it },
                        label = { Text(need.label) }, placeholder = { Text(stringResource(R.string.deadline_hint)) },
                        singleLine = true, modifier = Modifier.fillMaxWidth(),
                    )
                    is Need.Text -> OutlinedTextField(
                        texts["text"] ?: "", { texts["text"] = it },
                        label = { Text(need.label) }, modifier = Modifier.fillMaxWidth(),
                    )
                }
            }
            problem?.let { Problem(it, Modifier.padding(top = 6.dp)) }
            Button(
                onClick = {
                    scope.attempt({ problem = it }) {
                        app.store.transition(
                            app.user,
                            hazardId,
                            ActionInput(
                                offer.action,
                                deadline = texts["deadline"]?.trim()?.ifEmpty { null },
                                text = texts["text"]?.trim()?.ifEmpty { null },
                                photo = photo?.let { (role, bytes) -> PhotoInput(bytes, role = role) },
                            ),
                        )
                        reload()
                    }
                },
                modifier = Modifier.padding(top = 6.dp).testTag("submit:${offer.action.name}"),
            ) { Text(stringResource(R.string.submit)) }
        }
    }
}
