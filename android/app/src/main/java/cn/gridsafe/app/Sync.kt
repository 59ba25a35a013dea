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
        periodic(context, RECORDS, 30, NetworkType.CONNECTED, photos = false)
        periodic(context, PHOTOS, 60, NetworkType.UNMETERED, photos = true)
    }

    private fun periodic(context: Context, name: String, minutes: Long, network: NetworkType, photos: Boolean) {
        WorkManager.getInstance(context).enqueueUniquePeriodicWork(
            name,
            ExistingPeriodicWorkPolicy.KEEP,
            PeriodicWorkRequestBuilder<SyncWorker>(minutes, TimeUnit.MINUTES)
                .setConstraints(constraints(network, batteryNotLow = true))
                .setInputData(SyncWorker.input(photos))
                .build(),
        )
    }

    /** The records of an inspection just finished go as soon as there is any connection. */
    fun afterInspection(context: Context) = once(context, AFTER_INSPECTION, ExistingWorkPolicy.REPLACE, photos = false)

    /** The worker's tap: records and every photo, on whatever connection there is. */
    fun now(context: Context) = once(context, NOW, ExistingWorkPolicy.KEEP, photos = true)

    private fun once(context: Context, name: String, policy: ExistingWorkPolicy, photos: Boolean) {
        WorkManager.getInstance(context).enqueueUniqueWork(
            name,
            policy,
            OneTimeWorkRequestBuilder<SyncWorker>()
                .setConstraints(constraints(NetworkType.CONNECTED, batteryNotLow = false))
                .setInputData(SyncWorker.input(photos))
                .build(),
        )
    }
}
