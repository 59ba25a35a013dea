package cn.gridsafe.app.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
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
import cn.gridsafe.core.FieldAnswer
import cn.gridsafe.core.FormAnswer
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * Adding or editing a venue through its profile questions, each saying why it is asked. Only
 * what the worker answered is sent: editing keeps every other recorded value.
 */
@Composable
fun VenueFormScreen(app: AppContext, venueId: String?) {
    val (loaded, retry) = rememberLoaded(venueId) {
        withContext(Dispatchers.IO) { app.store.venueForm(app.user, venueId, app.lang) }
    }
    val answers = remember { mutableStateMapOf<String, FieldAnswer>() }
    var problem by remember { mutableStateOf<String?>(null) }
    val scope = rememberUiScope()
    Show(loaded, retry) { questions ->
        LazyColumn(Modifier.fillMaxSize().testTag("venue-form")) {
            items(questions, key = { it.key }) { q ->
                Column(Modifier.padding(horizontal = 16.dp, vertical = 8.dp)) {
                    Text(q.label + if (q.required) "（" + stringResource(R.string.required) + "）" else "",
                        style = MaterialTheme.typography.titleSmall)
                    Text(q.why, style = MaterialTheme.typography.bodySmall, color = MaterialTheme.colorScheme.onSurfaceVariant)
                    q.value?.let { Text(stringResource(R.string.kept_value, it), style = MaterialTheme.typography.bodySmall) }
                    FieldEntry("form:${q.key}", q.input, selectedOf(answers[q.key]), allowNotApplicable = false, live = true) { a ->
                        answers[q.key] = a
                    }
                }
            }
            item {
                problem?.let { Problem(it) }
                Button(
                    onClick = {
                        scope.attempt({ problem = it }) {
                            val file = withContext(Dispatchers.IO) {
                                app.store.saveVenue(app.user, venueId, answers.map { (k, v) -> FormAnswer(k, v) }, app.lang)
                            }
                            app.nav.replace(Route.VenueFile(file.id))
                        }
                    },
                    modifier = Modifier.fillMaxWidth().padding(16.dp).testTag("save-venue"),
                ) { Text(stringResource(R.string.save)) }
            }
        }
    }
}

/** The option keys an answer ticks. */
fun selectedOf(a: FieldAnswer?): Set<String> = when (a) {
    FieldAnswer.Yes -> setOf("yes")
    FieldAnswer.No -> setOf("no")
    FieldAnswer.NotApplicable -> setOf("na")
    is FieldAnswer.Choice -> setOf(a.key)
    is FieldAnswer.Multi -> a.keys.toSet()
    else -> emptySet()
}
