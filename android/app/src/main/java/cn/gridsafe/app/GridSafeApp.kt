package cn.gridsafe.app

import android.app.Application
import androidx.work.Constraints
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.NetworkType
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import cn.gridsafe.core.GridStore
import java.util.concurrent.TimeUnit

/** Opens the phone's one store and schedules the automatic sync. */
class GridSafeApp : Application() {
    lateinit var store: GridStore
        private set

    override fun onCreate() {
        super.onCreate()
        store = GridStore.open(filesDir.resolve("gridsafe.sqlite").path)
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
            val office = Constraints.Builder().setRequiredNetworkType(NetworkType.UNMETERED).build()
            wm.enqueueUniquePeriodicWork(
                "gridsafe-sync-office",
                ExistingPeriodicWorkPolicy.KEEP,
                PeriodicWorkRequestBuilder<SyncWorker>(15, TimeUnit.MINUTES)
                    .setConstraints(office)
                    .setInputData(SyncWorker.input(originals = true))
                    .build(),
            )
            val anyNetwork = Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build()
            wm.enqueueUniquePeriodicWork(
                "gridsafe-sync-records",
                ExistingPeriodicWorkPolicy.KEEP,
                PeriodicWorkRequestBuilder<SyncWorker>(30, TimeUnit.MINUTES)
                    .setConstraints(anyNetwork)
                    .setInputData(SyncWorker.input(originals = false))
                    .build(),
            )
        }
    }
}
