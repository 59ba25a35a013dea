package cn.gridsafe

import cn.gridsafe.core.CancelHandle
import cn.gridsafe.core.GridStore
import cn.gridsafe.core.SyncListener
import cn.gridsafe.core.SyncProgress
import cn.gridsafe.core.SyncReport
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow

/**
 * The small idiomatic layer over the generated bindings (package `cn.gridsafe.core`): a sync as a
 * [Flow] of progress that the UI collects, and cancellation tied to coroutine cancellation. Every
 * decision is in the Rust core; nothing here but plumbing.
 */
sealed interface SyncEvent {
    /** After each round trip and each uploaded photo. */
    data class Progress(val progress: SyncProgress) : SyncEvent

    /** The sync finished; records the relay refused are listed with their reasons. */
    data class Done(val report: SyncReport) : SyncEvent
}

/**
 * Syncs and emits progress, then [SyncEvent.Done]. Failures end the flow with a
 * [cn.gridsafe.core.GridSafeException]. Cancelling the collector cancels the sync at its next
 * safe point; what the relay confirmed is kept.
 */
fun GridStore.syncFlow(originals: Boolean = false): Flow<SyncEvent> = callbackFlow {
    val cancel = CancelHandle()
    val listener = object : SyncListener {
        override fun onProgress(progress: SyncProgress) {
            trySend(SyncEvent.Progress(progress))
        }
    }
    try {
        val report = sync(originals, listener, cancel)
        send(SyncEvent.Done(report))
        close()
    } catch (e: Throwable) {
        cancel.cancel()
        close(e)
    }
    awaitClose { cancel.cancel() }
}

/** Opens a store, runs [block] and closes it, also on failure. */
inline fun <T> withStore(path: String, block: (GridStore) -> T): T = GridStore.open(path).use(block)
