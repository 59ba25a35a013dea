package cn.gridsafe.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.ListItem
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableIntStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.res.stringResource
import cn.gridsafe.app.R
import kotlinx.coroutines.Dispatchers
import cn.gridsafe.core.GridSafeException
import cn.gridsafe.core.Opens
import cn.gridsafe.core.TodayScreen
import cn.gridsafe.todayUpdates
import kotlinx.coroutines.flow.catch
import kotlinx.coroutines.flow.map

/** Today: what waits in my grids, each list with its count; it refreshes after every sync. */
@Composable
fun TodayTab(app: AppContext) {
    var attempt by remember { mutableIntStateOf(0) }
    val flow = remember(app.user, app.lang, attempt) {
        app.store.todayUpdates(app.user, app.lang)
            .map<TodayScreen, Loaded<TodayScreen>> { Loaded.Ready(it) }
            .catch { e -> if (e is GridSafeException) emit(Loaded.Failed(reasonOf(e))) else throw e }
    }
    val today by flow.collectAsState(Loaded.Loading, Dispatchers.Main.immediate)
    Show(today, { attempt++ }) { TodayList(app, it) }
}

@Composable
private fun TodayList(app: AppContext, t: TodayScreen) {
    LazyColumn(Modifier.fillMaxSize().testTag("today")) {
        item {
            ListItem(headlineContent = { Text(t.syncLine) })
            t.syncWarning?.let { Problem(it) }
        }
        for (section in t.sections) {
            item(key = section.kind.name) {
                HorizontalDivider()
                Heading("${section.title}（${section.count}）")
            }
            items(section.rows, key = { section.kind.name + it.title + it.detail }) { row ->
                val open: Route = when (val o = row.opens) {
                    is Opens.Hazard -> Route.Hazard(o.id)
                    is Opens.Venue -> Route.VenueFile(o.id)
                    is Opens.Ticket -> Route.Ticket(o.id)
                }
                ListItem(
                    headlineContent = { Text(row.title) },
                    supportingContent = { Text(row.detail) },
                    modifier = Modifier.clickable { app.nav.open(open) },
                )
            }
        }
    }
}
