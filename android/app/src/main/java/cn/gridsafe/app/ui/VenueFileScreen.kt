package cn.gridsafe.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
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
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import cn.gridsafe.app.R
import cn.gridsafe.venueFileScreen
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/** A venue's file: who and what it is, the checklists that apply (and why), its history. */
@Composable
fun VenueFileScreen(app: AppContext, venueId: String) {
    val (loaded, retry) = rememberLoaded(venueId) { app.store.venueFileScreen(app.user, venueId, app.lang) }
    var problem by remember { mutableStateOf<String?>(null) }
    val scope = rememberUiScope()
    Show(loaded, retry) { f ->
        LazyColumn(Modifier.fillMaxSize().testTag("venue-file")) {
            item {
                Column(Modifier.padding(16.dp)) {
                    Text(f.name, style = MaterialTheme.typography.headlineSmall)
                    Text(f.address)
                    Text("${f.grid} · ${f.responsible}")
                }
                problem?.let { Problem(it) }
                Row(Modifier.padding(horizontal = 16.dp), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    OutlinedButton(onClick = { app.nav.open(Route.VenueForm(venueId)) }) { Text(stringResource(R.string.edit_venue)) }
                    OutlinedButton(onClick = { app.nav.open(Route.Notice(venueId)) }, modifier = Modifier.testTag("open-notice")) { Text(stringResource(R.string.notice)) }
                }
                Heading(stringResource(R.string.checklists))
            }
            items(f.checklists, key = { it.templateId }) { c ->
                ListItem(
                    headlineContent = { Text(c.title) },
                    supportingContent = { Text(c.why) },
                    trailingContent = {
                        if (c.applies) {
                            Button(onClick = {
                                scope.attempt({ problem = it }) {
                                    val insp = withContext(Dispatchers.IO) { app.store.startInspection(app.user, venueId, c.templateId) }
                                    app.nav.open(Route.Walk(insp.id))
                                }
                            }, modifier = Modifier.testTag("start-${c.templateId}")) { Text(stringResource(R.string.start_inspection)) }
                        }
                    },
                )
            }
            if (f.conflicts.isNotEmpty()) {
                item { Heading(stringResource(R.string.conflicts)) }
                items(f.conflicts, key = { it.field }) { c ->
                    ListItem(
                        headlineContent = { Text(c.fieldLabel) },
                        supportingContent = {
                            Text(stringResource(R.string.kept_value, c.kept) + "\n" + stringResource(R.string.other_values, c.others.joinToString("、")))
                        },
                    )
                }
            }
            item { Heading(stringResource(R.string.open_hazards)) }
            items(f.openHazards, key = { it.id }) { h ->
                ListItem(
                    headlineContent = { Text(h.title) },
                    supportingContent = { Text(h.detail) },
                    modifier = Modifier.clickable { app.nav.open(Route.Hazard(h.id)) }.testTag("hazard:${h.id}"),
                )
            }
            item { Heading(stringResource(R.string.profile)) }
            items(f.profile, key = { it.label }) { p -> LabelValueRow(p.label, p.value) }
            item { Heading(stringResource(R.string.inspections)) }
            items(f.inspections, key = { it.id }) { i ->
                ListItem(
                    headlineContent = { Text(i.title) },
                    supportingContent = { Text(i.detail) },
                    modifier = Modifier.clickable { app.nav.open(Route.Walk(i.id)) }.testTag("inspection:${i.id}"),
                )
            }
            item { Row(Modifier.fillMaxWidth().padding(16.dp)) {} }
        }
    }
}
