package cn.gridsafe.app

import android.content.Context
import androidx.work.Configuration
import androidx.work.testing.SynchronousExecutor
import androidx.work.testing.WorkManagerTestInitHelper
import cn.gridsafe.KeyVault
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey

/**
 * The app as the tests run it: the same store, screens and sync, with the vault's wrapping key
 * in memory (Robolectric has no AndroidKeyStore) and WorkManager's test driver, which runs a sync
 * once the test says its constraints are met.
 */
class TestApp : GridSafeApp() {
    override fun vault(): KeyVault =
        SealedVault(getSharedPreferences("gridsafe-keys", Context.MODE_PRIVATE)) { key }

    override fun onCreate() {
        WorkManagerTestInitHelper.initializeTestWorkManager(
            this,
            Configuration.Builder().setExecutor(SynchronousExecutor()).build(),
        )
        super.onCreate()
    }

    private companion object {
        val key: SecretKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
    }
}
