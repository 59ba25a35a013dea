package cn.gridsafe.app.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import cn.gridsafe.app.R
import cn.gridsafe.core.CancelHandle
import cn.gridsafe.core.EnrolSecret
import cn.gridsafe.core.GridSafeException
import cn.gridsafe.core.GridStore
import kotlinx.coroutines.launch

/** First launch: the phone is enrolled with the relay by the worker's one-time code. */
@Composable
fun EnrolScreen(store: GridStore, enrolled: () -> Unit) {
    var server by rememberSaveable { mutableStateOf("https://") }
    var user by rememberSaveable { mutableStateOf("") }
    var code by rememberSaveable { mutableStateOf("") }
    var busy by rememberSaveable { mutableStateOf(false) }
    var problem by rememberSaveable { mutableStateOf<String?>(null) }
    val scope = rememberUiScope()
    Column(Modifier.verticalScroll(rememberScrollState()).padding(16.dp)) {
        Text(stringResource(R.string.enrol_title), style = MaterialTheme.typography.headlineSmall)
        Text(stringResource(R.string.enrol_intro), modifier = Modifier.padding(vertical = 8.dp))
        OutlinedTextField(server, { server = it }, label = { Text(stringResource(R.string.enrol_server)) },
            singleLine = true, modifier = Modifier.fillMaxWidth().testTag("enrol-server"))
        OutlinedTextField(user, { user = it }, label = { Text(stringResource(R.string.enrol_user)) },
            singleLine = true, modifier = Modifier.fillMaxWidth().testTag("enrol-user"))
        OutlinedTextField(code, { code = it }, label = { Text(stringResource(R.string.enrol_code)) },
            singleLine = true, modifier = Modifier.fillMaxWidth().testTag("enrol-code"))
        problem?.let { Problem(it, Modifier.padding(top = 8.dp)) }
        Button(
            enabled = !busy,
            onClick = {
                busy = true
                problem = null
                scope.launch {
                    try {
                        store.enroll(server.trim(), user.trim(), EnrolSecret.Code(code.trim()), android.os.Build.MODEL ?: "Android")
                        // The first sync brings the directory (villages, grids, names) and what
                        // waits in the worker's grids; without a network now it comes later.
                        try {
                            store.sync(false, null, CancelHandle())
                        } catch (e: GridSafeException.Network) {
                            // WorkManager syncs once there is a network.
                        }
                        enrolled()
                    } catch (e: GridSafeException) {
                        problem = reasonOf(e)
                    } finally {
                        busy = false
                    }
                }
            },
            modifier = Modifier.fillMaxWidth().padding(top = 16.dp),
        ) { Text(stringResource(if (busy) R.string.enrolling else R.string.enrol_button)) }
    }
}
