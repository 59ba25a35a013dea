package cn.gridsafe.app

import android.content.Context
import androidx.work.CoroutineWorker
import androidx.work.Data
import androidx.work.WorkerParameters
import androidx.work.workDataOf
import cn.gridsafe.SyncEvent
import cn.gridsafe.core.GridSafeException
import cn.gridsafe.syncFlow
import kotlinx.coroutines.flow.collect

/** Background sync. Retries later on network errors; a revoked phone stops until re-enrolled. */
class SyncWorker(ctx: Context, params: WorkerParameters) : CoroutineWorker(ctx, params) {
    override suspend fun doWork(): Result {
        val store = (applicationContext as GridSafeApp).store
        if (store.syncState().enrolledUser == null) return Result.success()
        return try {
            store.syncFlow(originals = inputData.getBoolean(ORIGINALS, false)).collect { event ->
                if (event is SyncEvent.Progress) {
                    setProgress(workDataOf("photos" to event.progress.photosUploaded.toLong()))
                }
            }
            Result.success()
        } catch (e: GridSafeException.Network) {
            Result.retry()
        } catch (e: GridSafeException.Unauthorized) {
            Result.failure()
        }
    }

    companion object {
        private const val ORIGINALS = "originals"
        fun input(originals: Boolean): Data = workDataOf(ORIGINALS to originals)
    }
}
