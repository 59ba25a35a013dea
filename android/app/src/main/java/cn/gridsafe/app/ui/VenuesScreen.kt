package cn.gridsafe.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.ListItem
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableIntStateOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import cn.gridsafe.app.R
import cn.gridsafe.core.VenueFilter
import cn.gridsafe.venueListScreen

/** My grids' venues: search by name or address, two filters, pages of twenty. */
@Composable
fun VenuesTab(app: AppContext) {
    var text by rememberSaveable { mutableStateOf("") }
    var notInspected by rememberSaveable { mutableStateOf(false) }
    var withHazards by rememberSaveable { mutableStateOf(false) }
    var pages by rememberSaveable { mutableIntStateOf(1) }
    val (loaded, retry) = rememberLoaded(text, notInspected, withHazards, pages) {
        // The first pages again, then the next: the list grows as the worker scrolls on.
        (0 until pages).map { page ->
            app.store.venueListScreen(app.user, VenueFilter(text.trim(), notInspected, withHazards, page.toUInt()), app.lang)
        }
    }
    OutlinedTextField(
        text,
        { text = it; pages = 1 },
        label = { Text(stringResource(R.string.search_hint)) },
        singleLine = true,
        modifier = Modifier.fillMaxWidth().padding(horizontal = 16.dp, vertical = 8.dp).testTag("venue-search"),
    )
    Row(Modifier.padding(horizontal = 16.dp), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
        FilterChip(notInspected, { notInspected = !notInspected; pages = 1 }, label = { Text(stringResource(R.string.filter_not_inspected)) })
        FilterChip(withHazards, { withHazards = !withHazards; pages = 1 }, label = { Text(stringResource(R.string.filter_open_hazards)) })
    }
    Button(onClick = { app.nav.open(Route.VenueForm(null)) }, modifier = Modifier.padding(horizontal = 16.dp).testTag("add-venue")) {
        Text(stringResource(R.string.add_venue))
    }
    Show(loaded, retry) { screens ->
        val rows = screens.flatMap { it.rows }
        val last = screens.last()
        LazyColumn(Modifier.fillMaxSize().testTag("venues")) {
            item { Text(stringResource(R.string.venue_count, last.total.toInt()), Modifier.padding(horizontal = 16.dp)) }
            if (rows.isEmpty()) item { Text(stringResource(R.string.no_venues), Modifier.padding(16.dp)) }
            items(rows, key = { it.id }) { v ->
                ListItem(
                    headlineContent = { Text(v.name) },
                    supportingContent = {
                        val hazards = if (v.openHazards > 0u) " · " + stringResource(R.string.open_hazards_n, v.openHazards.toInt()) else ""
                        Text("${v.address}\n${v.lastInspection}$hazards")
                    },
                    modifier = Modifier.clickable { app.nav.open(Route.VenueFile(v.id)) }.testTag("venue:${v.id}"),
                )
            }
            if (last.page + 1u < last.pages) {
                item { TextButton(onClick = { pages++ }) { Text(stringResource(R.string.more)) } }
            }
        }
    }
}
