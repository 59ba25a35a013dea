package cn.gridsafe.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.ExperimentalLayoutApi
import androidx.compose.foundation.layout.FlowRow
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import cn.gridsafe.app.R
import cn.gridsafe.core.PhotoInput
import cn.gridsafe.core.TicketScreen
import cn.gridsafe.core.TicketVenue
import cn.gridsafe.core.TicketVerdict
import cn.gridsafe.core.VenueFilter
import cn.gridsafe.ticketScreenOf
import cn.gridsafe.venueListScreen

/** A 12345 / 随申拍 ticket from Today: what was reported, and the verdict recorded on site. */
@Composable
fun TicketScreen(app: AppContext, ticketId: String) {
    val (loaded, retry) = rememberLoaded(ticketId) { app.store.ticketScreenOf(app.user, ticketId, app.lang) }
    Show(loaded, retry) { t ->
        LazyColumn(Modifier.fillMaxSize().testTag("ticket")) {
            item {
                Column(Modifier.padding(16.dp)) {
                    Text(t.title, style = MaterialTheme.typography.titleLarge)
                    Text(t.received)
                    Text(t.description, style = MaterialTheme.typography.bodyLarge, modifier = Modifier.padding(vertical = 8.dp))
                    Text(t.status, style = MaterialTheme.typography.titleMedium, modifier = Modifier.testTag("ticket-status"))
                    t.verified?.let { Text(it, style = MaterialTheme.typography.bodySmall) }
                    t.reason?.let { Text(it) }
                    t.hazardId?.let { id ->
                        OutlinedButton(onClick = { app.nav.open(Route.Hazard(id)) }, modifier = Modifier.testTag("ticket-hazard")) {
                            Text(stringResource(R.string.open_hazard))
                        }
                    }
                }
                LabelValueRow(stringResource(R.string.ticket_address), t.address)
                LabelValueRow(stringResource(R.string.ticket_kind), t.domain)
                LabelValueRow(stringResource(R.string.ticket_grid), t.grid)
            }
            if (t.toVerify) item { VerdictForm(app, t, retry) }
        }
    }
}

/** 属实 at a venue (the item, what is there, a photo) or 不属实 with the reason; refused in words. */
@OptIn(ExperimentalLayoutApi::class)
@Composable
private fun VerdictForm(app: AppContext, t: TicketScreen, reload: () -> Unit) {
    var substantiated by rememberSaveable(t.id) { mutableStateOf<Boolean?>(null) }
    var venue by remember(t.id) { mutableStateOf<TicketVenue?>(null) }
    var item by rememberSaveable(t.id) { mutableStateOf<String?>(null) }
    var finding by rememberSaveable(t.id) { mutableStateOf("") }
    var itemsOpen by rememberSaveable(t.id) { mutableStateOf(false) }
    val noItem = stringResource(R.string.ticket_no_item)
    var reason by rememberSaveable(t.id) { mutableStateOf("") }
    var photo by remember(t.id) { mutableStateOf<ByteArray?>(null) }
    var problem by remember { mutableStateOf<String?>(null) }
    val scope = rememberUiScope()
    val noCamera = stringResource(R.string.camera_missing)
    val camera = rememberCamera(onNoCamera = { problem = noCamera }) { photo = it }
    Column(Modifier.padding(16.dp)) {
        Heading(stringResource(R.string.ticket_verdict))
        FlowRow(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            FilterChip(substantiated == true, { substantiated = true }, label = { Text(stringResource(R.string.ticket_true)) },
                modifier = Modifier.testTag("ticket-true"))
            FilterChip(substantiated == false, { substantiated = false }, label = { Text(stringResource(R.string.ticket_false)) },
                modifier = Modifier.testTag("ticket-false"))
        }
        when (substantiated) {
            true -> {
                Text(stringResource(R.string.ticket_venue), style = MaterialTheme.typography.titleSmall, modifier = Modifier.padding(top = 8.dp))
                VenuePicker(app, t.venues, venue) { venue = it }
                OutlinedTextField(finding, { finding = it }, label = { Text(stringResource(R.string.ticket_finding)) },
                    modifier = Modifier.fillMaxWidth().testTag("ticket-finding"))
                OutlinedButton(onClick = camera, modifier = Modifier.padding(top = 6.dp).testTag("ticket-photo")) {
                    Text(stringResource(R.string.ticket_photo))
                }
                if (photo != null) Text(stringResource(R.string.photo_ready))
                // The kind's items are many (a gas ticket: some twenty-five); shown when asked.
                TextButton(onClick = { itemsOpen = !itemsOpen }, modifier = Modifier.testTag("ticket-items")) {
                    Text(stringResource(R.string.ticket_item_is, t.items.firstOrNull { it.id == item }?.question ?: noItem))
                }
                if (itemsOpen) {
                    FlowRow(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                        FilterChip(item == null, { item = null; itemsOpen = false }, label = { Text(noItem) })
                        for (i in t.items) {
                            FilterChip(item == i.id, { item = i.id; itemsOpen = false }, label = { Text(i.question) },
                                modifier = Modifier.testTag("ticket-item:${i.id}"))
                        }
                    }
                }
            }
            false -> {
                FlowRow(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    t.reasons.forEachIndexed { n, r ->
                        FilterChip(reason == r, { reason = r }, label = { Text(r) }, modifier = Modifier.testTag("ticket-reason:$n"))
                    }
                }
                OutlinedTextField(reason, { reason = it }, label = { Text(stringResource(R.string.ticket_reason)) },
                    modifier = Modifier.fillMaxWidth().testTag("ticket-reason"))
            }
            null -> {}
        }
        problem?.let { Problem(it, Modifier.padding(top = 6.dp)) }
        if (substantiated != null) {
            Button(
                onClick = {
                    scope.attempt({ problem = it }) {
                        val yes = substantiated == true
                        val hazard = app.store.verifyTicket(
                            app.user,
                            t.id,
                            TicketVerdict(
                                substantiated = yes,
                                venueId = venue?.id,
                                itemId = item,
                                finding = finding.trim(),
                                reason = reason.trim(),
                                photo = photo?.let { PhotoInput(it, role = "before") },
                            ),
                            app.lang,
                        )
                        if (hazard != null) app.nav.replace(Route.Hazard(hazard)) else reload()
                    }
                },
                modifier = Modifier.padding(top = 8.dp).testTag("ticket-submit"),
            ) { Text(stringResource(R.string.ticket_submit)) }
        }
    }
}

/** The venues nearest the ticket's address, and a search of the worker's others. */
@Composable
private fun VenuePicker(app: AppContext, nearest: List<TicketVenue>, chosen: TicketVenue?, choose: (TicketVenue) -> Unit) {
    var text by rememberSaveable { mutableStateOf("") }
    val (found, _) = rememberLoaded(text) {
        if (text.isBlank()) {
            nearest
        } else {
            app.store.venueListScreen(app.user, VenueFilter(text.trim(), false, false, 0u), app.lang)
                .rows.map { TicketVenue(it.id, it.name, it.address) }
        }
    }
    OutlinedTextField(text, { text = it }, label = { Text(stringResource(R.string.ticket_venue_search)) }, singleLine = true,
        modifier = Modifier.fillMaxWidth().testTag("ticket-venue-search"))
    val list = when (found) {
        is Loaded.Ready -> found.value
        else -> emptyList()
    }
    if (list.isEmpty() && found is Loaded.Ready) Text(stringResource(R.string.ticket_no_venue), style = MaterialTheme.typography.bodySmall)
    for (v in list) {
        FilterChip(chosen?.id == v.id, { choose(v) }, label = { Text("${v.name} · ${v.address}") },
            modifier = Modifier.testTag("ticket-venue:${v.id}"))
    }
    if (chosen != null && list.none { it.id == chosen.id }) {
        FilterChip(true, {}, label = { Text("${chosen.name} · ${chosen.address}") })
    }
}
