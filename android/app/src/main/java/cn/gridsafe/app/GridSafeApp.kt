package cn.gridsafe.app

import android.app.Application
import androidx.work.Configuration
import cn.gridsafe.KeyVault
import cn.gridsafe.StoreKeys
import cn.gridsafe.core.GridStore

/**
 * Opens the phone's one store and schedules the automatic sync. The store's key comes from a
 * [KeyVault]: on a phone the Android Keystore's ([KeystoreVault]); a test application supplies
 * another (Robolectric has no AndroidKeyStore).
 */
open class GridSafeApp : Application(), Configuration.Provider {
    lateinit var store: GridStore
        private set

    /** Where the store's key is kept. */
    open fun vault(): KeyVault = KeystoreVault(this)

    override fun onCreate() {
        super.onCreate()
        // Encrypted at rest with a key the vault guards (docs/security.md).
        store = StoreKeys(vault()).open(filesDir.resolve("gridsafe.sqlite").path)
        Sync.schedule(this)
    }

    // WorkManager starts on first use with this configuration (no start-up provider needed).
    override val workManagerConfiguration: Configuration
        get() = Configuration.Builder().build()
}
