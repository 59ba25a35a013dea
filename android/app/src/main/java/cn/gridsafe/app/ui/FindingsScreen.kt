package cn.gridsafe.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateMapOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import cn.gridsafe.app.R
import cn.gridsafe.app.Sync
import cn.gridsafe.core.FindingLine
import cn.gridsafe.core.FixChoice
import cn.gridsafe.findingsOf
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * What finishing will register, each hazard with severity, lead department, basis and deadline;
 * 即改 or 限期整改 where the checklist allows the choice. Finishing registers them and sends the
 * records at the next connection.
 */
@Composable
fun FindingsScreen(app: AppContext, inspectionId: String) {
    val (loaded, retry) = rememberLoaded(inspectionId) { app.store.findingsOf(inspectionId, app.lang) }
    val onSpot = remember { mutableStateMapOf<String, Boolean>() }
    var problem by remember { mutableStateOf<String?>(null) }
    val scope = rememberUiScope()
    val context = LocalContext.current
    Show(loaded, retry) { findings ->
        LazyColumn(Modifier.fillMaxSize().testTag("findings")) {
            if (findings.isEmpty()) item { Text(stringResource(R.string.no_findings), Modifier.padding(16.dp)) }
            items(findings, key = { it.itemId }) { f ->
                FindingCard(f, onSpot[f.itemId] ?: f.defaultOnSpot) { onSpot[f.itemId] = it }
            }
            item {
                problem?.let { Problem(it) }
                Button(
                    onClick = {
                        scope.attempt({ problem = it }) {
                            val choices = findings.filter { it.onSpotAllowed && !it.alreadyOpen }.map {
                                FixChoice(it.itemId, if (onSpot[it.itemId] ?: it.defaultOnSpot) "on_spot" else "deadline")
                            }
                            withContext(Dispatchers.IO) { app.store.finishInspectionWith(app.user, inspectionId, choices) }
                            Sync.afterInspection(context)
                            // Back to the venue's file: its open hazards now include these.
                            app.nav.back()
                            app.nav.back()
                        }
                    },
                    modifier = Modifier.fillMaxWidth().padding(16.dp).testTag("finish"),
                ) { Text(stringResource(if (findings.isEmpty()) R.string.finish_no_findings else R.string.finish)) }
            }
        }
    }
}

@Composable
private fun FindingCard(f: FindingLine, onSpot: Boolean, choose: (Boolean) -> Unit) {
    Card(Modifier.fillMaxWidth().padding(horizontal = 12.dp, vertical = 6.dp).testTag("finding:${f.itemId}")) {
        Column(Modifier.padding(12.dp)) {
            Text(f.question, style = MaterialTheme.typography.titleSmall)
            Text(f.finding, color = MaterialTheme.colorScheme.error)
            Text("${f.severity} · ${f.departments}")
            f.basis.forEach { Text(it, style = MaterialTheme.typography.bodySmall) }
            if (f.alreadyOpen) {
                Text(stringResource(R.string.already_open))
            } else if (f.onSpotAllowed) {
                Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    FilterChip(onSpot, { choose(true) }, label = { Text(stringResource(R.string.fix_on_spot)) },
                        modifier = Modifier.testTag("on-spot:${f.itemId}"))
                    FilterChip(!onSpot, { choose(false) }, label = { Text(stringResource(R.string.fix_deadline)) })
                }
                Text(stringResource(R.string.deadline_is, if (onSpot) f.onSpotDeadline else f.deadline))
            } else {
                Text(stringResource(R.string.deadline_is, f.deadline))
            }
        }
    }
}
