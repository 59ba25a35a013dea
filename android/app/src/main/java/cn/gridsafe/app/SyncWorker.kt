package cn.gridsafe.app

import android.content.Context
import androidx.work.CoroutineWorker
import androidx.work.Data
import androidx.work.WorkerParameters
import androidx.work.workDataOf
import cn.gridsafe.SyncEvent
import cn.gridsafe.core.GridSafeException
import cn.gridsafe.syncFlow

/**
 * One sync with the relay, run by WorkManager (see [Sync] for when). Progress goes to the Sync
 * screen through WorkManager; a network failure is retried later; a phone whose enrolment was
 * revoked stops until it is enrolled again (the Sync screen says so).
 */
class SyncWorker(ctx: Context, params: WorkerParameters) : CoroutineWorker(ctx, params) {
    override suspend fun doWork(): Result {
        val store = (applicationContext as GridSafeApp).store
        if (store.syncState().enrolledUser == null) return Result.success()
        return try {
            store.syncFlow(originals = inputData.getBoolean(PHOTOS, false)).collect { event ->
                if (event is SyncEvent.Progress) {
                    val p = event.progress
                    setProgress(
                        workDataOf(
                            PUSHED to p.docsPushed.toLong(),
                            PULLED to p.docsPulled.toLong(),
                            PHOTOS_SENT to p.photosUploaded.toLong(),
                        ),
                    )
                }
            }
            Result.success()
        } catch (e: GridSafeException.Network) {
            Result.retry()
        } catch (e: GridSafeException.Unauthorized) {
            Result.failure(workDataOf(FAILED to e.reason))
        } catch (e: GridSafeException) {
            Result.failure(workDataOf(FAILED to e.message))
        }
    }

    companion object {
        /** Camera originals too (they are large: an unmetered network, or the worker's tap). */
        const val PHOTOS = "photos"
        const val PUSHED = "pushed"
        const val PULLED = "pulled"
        const val PHOTOS_SENT = "photos_sent"
        const val FAILED = "failed"
        fun input(photos: Boolean): Data = workDataOf(PHOTOS to photos)
    }
}
