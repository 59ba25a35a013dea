package cn.gridsafe.app

import android.content.Context
import androidx.test.core.app.ApplicationProvider
import androidx.work.NetworkType
import androidx.work.WorkInfo
import androidx.work.WorkManager
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config

/** When the phone syncs: what WorkManager holds once the app has started, and after a tap. */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34], application = TestApp::class)
class SyncScheduleTest {
    private val context = ApplicationProvider.getApplicationContext<Context>()
    private fun work(name: String): WorkInfo = WorkManager.getInstance(context).getWorkInfosForUniqueWork(name).get().single()

    @Test
    fun `records go on any network, originals wait for an unmetered one, a tap goes now`() {
        // Started with the app (GridSafeApp.onCreate), in the background, both sparing a low battery.
        val records = work(Sync.RECORDS)
        assertEquals(NetworkType.CONNECTED, records.constraints.requiredNetworkType)
        assertTrue(records.constraints.requiresBatteryNotLow())
        assertTrue(records.periodicityInfo != null)
        val photos = work(Sync.PHOTOS)
        assertEquals(NetworkType.UNMETERED, photos.constraints.requiredNetworkType)
        assertTrue(photos.constraints.requiresBatteryNotLow())
        // The worker's tap and a finished inspection: any network, whatever the battery.
        Sync.now(context)
        val now = work(Sync.NOW)
        assertEquals(NetworkType.CONNECTED, now.constraints.requiredNetworkType)
        assertFalse(now.constraints.requiresBatteryNotLow())
        Sync.afterInspection(context)
        val after = work(Sync.AFTER_INSPECTION)
        assertEquals(NetworkType.CONNECTED, after.constraints.requiredNetworkType)
        assertFalse(after.constraints.requiresBatteryNotLow())
        // Scheduling again on the next start keeps one of each, not two.
        Sync.schedule(context)
        assertEquals(1, WorkManager.getInstance(context).getWorkInfosForUniqueWork(Sync.RECORDS).get().size)
    }
}
