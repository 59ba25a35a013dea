package cn.gridsafe.app

import android.content.Context
import androidx.test.core.app.ApplicationProvider
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import javax.crypto.AEADBadTagException
import javax.crypto.KeyGenerator

/** The vault's sealing, without the platform's keystore (the wrapping key is a software one). */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [34], application = TestApp::class)
class VaultTest {
    private val prefs = ApplicationProvider.getApplicationContext<Context>()
        .getSharedPreferences("vault-test", Context.MODE_PRIVATE)
    private fun key() = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()

    @Test
    fun `a key is sealed, opens only under its wrapping key, and is removed`() {
        val wrap = key()
        val vault = SealedVault(prefs) { wrap }
        val secret = ByteArray(32) { it.toByte() }
        assertNull(vault.get("k"))
        vault.put("k", secret)
        assertArrayEquals(secret, vault.get("k"))
        // Stored sealed: not the key's bytes, and a fresh IV each time.
        val stored = prefs.getString("k", null)!!
        assertFalse(stored.contains(android.util.Base64.encodeToString(secret, android.util.Base64.NO_WRAP)))
        vault.put("k", secret)
        assertFalse(stored == prefs.getString("k", null))
        // Another wrapping key (a restored backup on another phone) does not open it.
        assertThrows(AEADBadTagException::class.java) { SealedVault(prefs) { key() }.get("k") }
        // An altered value does not open either.
        val bytes = android.util.Base64.decode(prefs.getString("k", null), android.util.Base64.NO_WRAP)
        bytes[bytes.size - 1] = (bytes[bytes.size - 1].toInt() xor 1).toByte()
        prefs.edit().putString("altered", android.util.Base64.encodeToString(bytes, android.util.Base64.NO_WRAP)).commit()
        assertThrows(AEADBadTagException::class.java) { vault.get("altered") }
        vault.remove("k")
        assertNull(vault.get("k"))
        assertEquals(null, prefs.getString("k", null))
    }
}
