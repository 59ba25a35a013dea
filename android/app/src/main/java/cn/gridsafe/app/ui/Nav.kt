package cn.gridsafe.app.ui

import androidx.activity.compose.BackHandler
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.NavigationBar
import androidx.compose.material3.NavigationBarItem
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TopAppBar
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.ArrowBack
import androidx.compose.material.icons.filled.DateRange
import androidx.compose.material.icons.filled.Home
import androidx.compose.material.icons.filled.Refresh
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateListOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import cn.gridsafe.app.R
import cn.gridsafe.core.GridStore
import cn.gridsafe.core.Language

/** Where the app is: a tab, or a record opened from one. */
sealed interface Route {
    data object Today : Route
    data object Venues : Route
    data object Sync : Route
    data class VenueFile(val id: String) : Route
    data class VenueForm(val id: String?) : Route
    data class Walk(val inspectionId: String) : Route
    data class Findings(val inspectionId: String) : Route
    data class Hazard(val id: String) : Route
    data class Ticket(val id: String) : Route
    data class Notice(val venueId: String) : Route
}

/** The back stack: tabs at its root, records opened on top; the system back pops it. */
class Navigator(start: Route) {
    val stack = mutableStateListOf(start)
    val current: Route get() = stack.last()
    fun open(r: Route) { stack.add(r) }
    fun back(): Boolean = if (stack.size > 1) { stack.removeAt(stack.lastIndex); true } else false
    fun tab(r: Route) { stack.clear(); stack.add(r) }
    /** Replaces the record on top (a walk finished becomes its venue's file). */
    fun replace(r: Route) { stack[stack.lastIndex] = r }
}

/** Everything a screen needs: the store, the enrolled user, the language and navigation. */
class AppContext(val store: GridStore, val user: String, val lang: Language, val nav: Navigator)

@Composable
fun AppRoot(store: GridStore, lang: Language) {
    var user by remember { mutableStateOf(store.syncState().enrolledUser) }
    val who = user
    if (who == null) {
        EnrolScreen(store) { user = store.syncState().enrolledUser }
        return
    }
    val nav = remember { Navigator(Route.Today) }
    val app = remember(who) { AppContext(store, who, lang, nav) }
    BackHandler(enabled = nav.stack.size > 1) { nav.back() }
    Frame(app)
}

@OptIn(ExperimentalMaterial3Api::class)
@Composable
private fun Frame(app: AppContext) {
    val nav = app.nav
    val route = nav.current
    val isTab = route == Route.Today || route == Route.Venues || route == Route.Sync
    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text(titleOf(route)) },
                navigationIcon = {
                    if (!isTab) {
                        IconButton(onClick = { nav.back() }) {
                            Icon(Icons.AutoMirrored.Filled.ArrowBack, contentDescription = stringResource(R.string.back))
                        }
                    }
                },
            )
        },
        bottomBar = {
            if (isTab) {
                NavigationBar {
                    for ((r, label, icon) in listOf(
                        Triple(Route.Today, R.string.tab_today, Icons.Filled.DateRange),
                        Triple(Route.Venues, R.string.tab_venues, Icons.Filled.Home),
                        Triple(Route.Sync, R.string.tab_sync, Icons.Filled.Refresh),
                    )) {
                        NavigationBarItem(
                            selected = route == r,
                            onClick = { nav.tab(r) },
                            icon = { Icon(icon, contentDescription = null) },
                            label = { Text(stringResource(label)) },
                        )
                    }
                }
            }
        },
    ) { padding ->
        Column(Modifier.fillMaxSize().padding(padding)) {
            when (route) {
                Route.Today -> TodayTab(app)
                Route.Venues -> VenuesTab(app)
                Route.Sync -> SyncTab(app)
                is Route.VenueFile -> VenueFileScreen(app, route.id)
                is Route.VenueForm -> VenueFormScreen(app, route.id)
                is Route.Walk -> WalkScreen(app, route.inspectionId)
                is Route.Findings -> FindingsScreen(app, route.inspectionId)
                is Route.Hazard -> HazardScreen(app, route.id)
                is Route.Ticket -> TicketScreen(app, route.id)
                is Route.Notice -> NoticeScreen(app, route.venueId)
            }
        }
    }
}

@Composable
private fun titleOf(route: Route): String = stringResource(
    when (route) {
        Route.Today -> R.string.tab_today
        Route.Venues -> R.string.tab_venues
        Route.Sync -> R.string.tab_sync
        is Route.VenueFile -> R.string.tab_venues
        is Route.VenueForm -> if (route.id == null) R.string.add_venue else R.string.edit_venue
        is Route.Walk -> R.string.start_inspection
        is Route.Findings -> R.string.findings_title
        is Route.Hazard -> R.string.hazard
        is Route.Ticket -> R.string.ticket
        is Route.Notice -> R.string.notice
    },
)
