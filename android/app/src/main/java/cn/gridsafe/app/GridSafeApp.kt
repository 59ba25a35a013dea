package cn.gridsafe.app

import android.app.Application
import androidx.work.Constraints
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.NetworkType
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import cn.gridsafe.StoreKeys
import cn.gridsafe.core.GridStore
import java.util.concurrent.TimeUnit

/** Opens the phone's one store and schedules the automatic sync. */
class GridSafeApp : Application() {
    lateinit var store: GridStore
        private set

    override fun onCreate() {
        super.onCreate()
        // Encrypted at rest with a key the Android Keystore guards (docs/security.md).
        store = StoreKeys(KeystoreVault(this)).open(filesDir.resolve("gridsafe.sqlite").path)
        scheduleSync(this)
    }

    companion object {
        /**
         * Records sync whenever any network is there (they are small); photos and camera
         * originals go on the unmetered network at the office — the "automatic sync" workers
         * expect without thinking about it.
         */
        fun scheduleSync(app: Application) {
            val wm = WorkManager.getInstance(app)
            periodic(wm, "gridsafe-sync-office", 15, NetworkType.UNMETERED, originals = true)
            periodic(wm, "gridsafe-sync-records", 30, NetworkType.CONNECTED, originals = false)
        }

        private fun periodic(wm: WorkManager, name: String, minutes: Long, network: NetworkType, originals: Boolean) {
            wm.enqueueUniquePeriodicWork(
                name,
                ExistingPeriodicWorkPolicy.KEEP,
                PeriodicWorkRequestBuilder<SyncWorker>(minutes, TimeUnit.MINUTES)
                    .setConstraints(Constraints.Builder().setRequiredNetworkType(network).build())
                    .setInputData(SyncWorker.input(originals))
                    .build(),
            )
        }
    }
}
