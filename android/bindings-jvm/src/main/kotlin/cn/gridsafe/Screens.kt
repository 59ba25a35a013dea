package cn.gridsafe

import cn.gridsafe.core.FieldAnswer
import cn.gridsafe.core.FindingLine
import cn.gridsafe.core.GridStore
import cn.gridsafe.core.HazardScreen
import cn.gridsafe.core.Language
import cn.gridsafe.core.TicketScreen
import cn.gridsafe.core.TodayScreen
import cn.gridsafe.core.VenueFileScreen
import cn.gridsafe.core.VenueFilter
import cn.gridsafe.core.VenueListScreen
import cn.gridsafe.core.WalkScreen
import kotlinx.coroutines.Dispatchers
import cn.gridsafe.core.StoreChange
import cn.gridsafe.core.StoreListener
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.withContext

/*
 * The field app's screens as suspend functions: each is one call into the Rust core's field
 * layer, run off the caller's thread (the store reads SQLite). The screens arrive with their text
 * in the asked language and their choices decided; a shell lays them out.
 */

/** Today for [user]. */
suspend fun GridStore.todayScreen(user: String, lang: Language = Language.ZH): TodayScreen =
    withContext(Dispatchers.IO) { today(user, lang) }

/** A page of [user]'s venues. */
suspend fun GridStore.venueListScreen(
    user: String,
    filter: VenueFilter = VenueFilter(),
    lang: Language = Language.ZH,
): VenueListScreen = withContext(Dispatchers.IO) { venueList(user, filter, lang) }

/** A venue's file, with the checklists that apply to it. */
suspend fun GridStore.venueFileScreen(user: String, venueId: String, lang: Language = Language.ZH): VenueFileScreen =
    withContext(Dispatchers.IO) { venueFile(user, venueId, lang) }

/** The walk of an inspection, where it resumes. */
suspend fun GridStore.walkScreen(inspectionId: String, lang: Language = Language.ZH): WalkScreen =
    withContext(Dispatchers.IO) { walk(inspectionId, lang) }

/** Answers one field (saved at once) and returns the walk as it now stands. */
suspend fun GridStore.answerFieldOf(
    user: String,
    inspectionId: String,
    itemId: String,
    fieldKey: String,
    answer: FieldAnswer,
    lang: Language = Language.ZH,
): WalkScreen = withContext(Dispatchers.IO) { answerField(user, inspectionId, itemId, fieldKey, answer, lang) }

/** What finishing the inspection will register. */
suspend fun GridStore.findingsOf(inspectionId: String, lang: Language = Language.ZH): List<FindingLine> =
    withContext(Dispatchers.IO) { findings(inspectionId, lang) }

/** A 12345 / 随申拍 ticket to verify on site, as Today's row opens it. */
suspend fun GridStore.ticketScreenOf(user: String, ticketId: String, lang: Language = Language.ZH): TicketScreen =
    withContext(Dispatchers.IO) { ticketScreen(user, ticketId, lang) }

/** A hazard, with only the actions [user] may take now. */
suspend fun GridStore.hazardScreenOf(user: String, hazardId: String, lang: Language = Language.ZH): HazardScreen =
    withContext(Dispatchers.IO) { hazardScreen(user, hazardId, lang) }

/**
 * Today now, and again each time a sync finishes (the core's change listener): what the Today
 * tab collects, so a reviewer's close on the relay reaches the list without the worker asking.
 * Cancelling the collector unsubscribes.
 */
fun GridStore.todayUpdates(user: String, lang: Language = Language.ZH): Flow<TodayScreen> = callbackFlow {
    // Rebuild requests are conflated: a burst of syncs rebuilds the screen once.
    val changed = Channel<Unit>(Channel.CONFLATED)
    val handle = subscribe(object : StoreListener {
        override fun onChange(change: StoreChange) {
            changed.trySend(Unit)
        }
    })
    send(todayScreen(user, lang))
    // Runs until the collector is cancelled; the subscription ends with it.
    try {
        while (true) {
            changed.receive()
            send(todayScreen(user, lang))
        }
    } finally {
        handle.cancel()
    }
}
