package cn.gridsafe.app

import android.content.Context
import androidx.work.Constraints
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import java.util.concurrent.TimeUnit

/**
 * When the phone syncs, without the worker thinking about it:
 * - records on any connection (they are small and the office waits for them): every 30 minutes
 *   and right after each finished inspection;
 * - camera originals (large) on an unmetered connection, every hour;
 * - everything now when the worker taps "立即同步" (any connection).
 * Background syncs wait while the battery is low; the worker's tap does not.
 */
object Sync {
    const val RECORDS = "gridsafe-sync-records"
    const val PHOTOS = "gridsafe-sync-photos"
    const val AFTER_INSPECTION = "gridsafe-sync-after-inspection"
    const val NOW = "gridsafe-sync-now"

    private fun constraints(network: NetworkType, batteryNotLow: Boolean) =
        Constraints.Builder().setRequiredNetworkType(network).setRequiresBatteryNotLow(batteryNotLow).build()

    fun schedule(context: Context) {
        val wm = WorkManager.getInstance(context)
        wm.enqueueUniquePeriodicWork(
            RECORDS,
            ExistingPeriodicWorkPolicy.KEEP,
            PeriodicWorkRequestBuilder<SyncWorker>(30, TimeUnit.MINUTES)
                .setConstraints(constraints(NetworkType.CONNECTED, batteryNotLow = true))
                .setInputData(SyncWorker.input(photos = false))
                .build(),
        )
        wm.enqueueUniquePeriodicWork(
            PHOTOS,
            ExistingPeriodicWorkPolicy.KEEP,
            PeriodicWorkRequestBuilder<SyncWorker>(60, TimeUnit.MINUTES)
                .setConstraints(constraints(NetworkType.UNMETERED, batteryNotLow = true))
                .setInputData(SyncWorker.input(photos = true))
                .build(),
        )
    }

    /** The records of an inspection just finished go as soon as there is any connection. */
    fun afterInspection(context: Context) {
        WorkManager.getInstance(context).enqueueUniqueWork(
            AFTER_INSPECTION,
            ExistingWorkPolicy.REPLACE,
            OneTimeWorkRequestBuilder<SyncWorker>()
                .setConstraints(constraints(NetworkType.CONNECTED, batteryNotLow = false))
                .setInputData(SyncWorker.input(photos = false))
                .build(),
        )
    }

    /** The worker's tap: records and every photo, on whatever connection there is. */
    fun now(context: Context) {
        WorkManager.getInstance(context).enqueueUniqueWork(
            NOW,
            ExistingWorkPolicy.KEEP,
            OneTimeWorkRequestBuilder<SyncWorker>()
                .setConstraints(constraints(NetworkType.CONNECTED, batteryNotLow = false))
                .setInputData(SyncWorker.input(photos = true))
                .build(),
        )
    }
}
