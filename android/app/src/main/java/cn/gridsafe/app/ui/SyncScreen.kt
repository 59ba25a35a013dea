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
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.remember
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.work.WorkInfo
import androidx.work.WorkManager
import cn.gridsafe.app.R
import cn.gridsafe.app.Sync
import cn.gridsafe.app.SyncWorker
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * Sync: when the phone last synced, what waits, the records the relay sent back (why, and what
 * to do), a wrong clock, notice numbers left; and "sync now" with its progress.
 */
@Composable
fun SyncTab(app: AppContext) {
    val context = LocalContext.current
    val infos = remember { WorkManager.getInstance(context).getWorkInfosForUniqueWorkFlow(Sync.NOW) }
    val work by infos.collectAsState(emptyList(), Dispatchers.Main.immediate)
    val now = work.lastOrNull()
    val (loaded, retry) = rememberLoaded(now?.state) { withContext(Dispatchers.IO) { app.store.syncScreen(app.lang) } }
    Show(loaded, retry) { s ->
        LazyColumn(Modifier.fillMaxSize().testTag("sync")) {
            item {
                Column(Modifier.padding(16.dp)) {
                    Text(s.lastSync, style = MaterialTheme.typography.titleMedium)
                    Text(s.pending, modifier = Modifier.testTag("pending"))
                    Text(s.noticeNumbers)
                }
                s.clockWarning?.let { Problem(it) }
                s.noticeNumbersWarning?.let { Problem(it) }
                Button(
                    enabled = now?.state != WorkInfo.State.RUNNING,
                    onClick = { Sync.now(context) },
                    modifier = Modifier.fillMaxWidth().padding(16.dp).testTag("sync-now"),
                ) { Text(stringResource(R.string.sync_now)) }
                now?.let { Progress(it) }
                Text(stringResource(R.string.auto_sync), style = MaterialTheme.typography.bodySmall, modifier = Modifier.padding(16.dp))
                if (s.refused.isNotEmpty()) Heading(stringResource(R.string.refused))
            }
            items(s.refused) { r ->
                Card(Modifier.fillMaxWidth().padding(horizontal = 12.dp, vertical = 6.dp)) {
                    Column(Modifier.padding(12.dp)) {
                        Text(r.what, style = MaterialTheme.typography.titleSmall)
                        Text(r.why, color = MaterialTheme.colorScheme.error)
                        Text(stringResource(R.string.what_to_do, r.whatToDo), style = MaterialTheme.typography.bodySmall)
                        Text(r.at, style = MaterialTheme.typography.bodySmall)
                    }
                }
            }
        }
    }
}

@Composable
private fun Progress(info: WorkInfo) {
    val text = when (info.state) {
        WorkInfo.State.RUNNING -> stringResource(
            R.string.syncing,
            info.progress.getLong(SyncWorker.PUSHED, 0).toInt(),
            info.progress.getLong(SyncWorker.PULLED, 0).toInt(),
            info.progress.getLong(SyncWorker.PHOTOS_SENT, 0).toInt(),
        )
        WorkInfo.State.ENQUEUED, WorkInfo.State.BLOCKED -> stringResource(R.string.sync_waiting)
        WorkInfo.State.SUCCEEDED -> stringResource(R.string.sync_done)
        WorkInfo.State.FAILED -> stringResource(R.string.sync_failed, info.outputData.getString(SyncWorker.FAILED) ?: "")
        WorkInfo.State.CANCELLED -> null
    }
    text?.let { Text(it, Modifier.padding(horizontal = 16.dp).testTag("sync-progress")) }
}
