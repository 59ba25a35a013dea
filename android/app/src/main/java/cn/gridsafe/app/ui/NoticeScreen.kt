package cn.gridsafe.app.ui

import android.content.Context
import android.content.Intent
import android.print.PrintManager
import android.webkit.WebView
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.compose.ui.viewinterop.AndroidView
import androidx.core.content.FileProvider
import cn.gridsafe.app.R
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import java.io.File

/**
 * The 整改通知书 of a venue's open hazards, numbered on this phone, as the core lays it out
 * (an A4 page): shown, printed through Android's print service, or shared as a file.
 */
@Composable
fun NoticeScreen(app: AppContext, venueId: String) {
    val (loaded, retry) = rememberLoaded(venueId) { withContext(Dispatchers.IO) { app.store.notice(app.user, venueId, app.lang) } }
    val context = LocalContext.current
    var view by remember { mutableStateOf<WebView?>(null) }
    Show(loaded, retry) { notice ->
        val title = stringResource(R.string.notice)
        Column(Modifier.padding(horizontal = 16.dp, vertical = 8.dp).testTag("notice-summary")) {
            Text(notice.number, style = MaterialTheme.typography.titleMedium)
            Text(notice.venue)
            for (h in notice.hazards) {
                Text(h.title, style = MaterialTheme.typography.bodyLarge, modifier = Modifier.padding(top = 6.dp))
                Text(h.detail, style = MaterialTheme.typography.bodySmall)
            }
        }
        Row(Modifier.padding(horizontal = 16.dp, vertical = 8.dp), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            Button(onClick = { view?.let { print(context, it, notice.number) } }, modifier = Modifier.testTag("print")) { Text(stringResource(R.string.print)) }
            OutlinedButton(onClick = { share(context, notice.html, title) }) { Text(stringResource(R.string.share)) }
        }
        // The page as it prints (A4), for the owner to read and sign.
        AndroidView(
            factory = { WebView(it).also { w -> view = w } },
            update = { it.loadDataWithBaseURL(null, notice.html, "text/html", "UTF-8", null) },
            modifier = Modifier.fillMaxSize().testTag("notice"),
        )
    }
}

private fun print(context: Context, view: WebView, title: String) {
    val printing = context.getSystemService(Context.PRINT_SERVICE) as PrintManager
    printing.print(title, view.createPrintDocumentAdapter(title), null)
}

private fun share(context: Context, html: String, title: String) {
    val file = File(context.cacheDir, "notices").apply { mkdirs() }.resolve("$title.html")
    file.writeText(html)
    val uri = FileProvider.getUriForFile(context, PhotoFiles.AUTHORITY, file)
    val send = Intent(Intent.ACTION_SEND)
        .setType("text/html")
        .putExtra(Intent.EXTRA_STREAM, uri)
        .addFlags(Intent.FLAG_GRANT_READ_URI_PERMISSION)
    context.startActivity(Intent.createChooser(send, title))
}
