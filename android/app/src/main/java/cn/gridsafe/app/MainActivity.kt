package cn.gridsafe.app

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import cn.gridsafe.app.ui.AppRoot
import cn.gridsafe.app.ui.GridSafeTheme
import cn.gridsafe.core.Language

/**
 * The one activity. It renders the core's field-app screens (`cn.gridsafe.core`): every list,
 * question, rule, state and refusal arrives decided and in words; the app lays them out and runs
 * the effects — the camera, WorkManager, printing and sharing the notice.
 */
class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val app = application as GridSafeApp
        // Chinese first: English only where the phone is set to English.
        val lang = if (resources.configuration.locales[0].language == "en") Language.EN else Language.ZH
        setContent { GridSafeTheme { AppRoot(app.store, lang) } }
    }
}
