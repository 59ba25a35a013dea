package cn.gridsafe.app.ui

import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.lightColorScheme
import androidx.compose.runtime.Composable
import androidx.compose.ui.graphics.Color

private val colors = lightColorScheme(
    primary = Color(0xFF1F5AA6),
    onPrimary = Color.White,
    secondary = Color(0xFF3E6A3A),
    error = Color(0xFFB3261E),
    surfaceVariant = Color(0xFFEFF2F7),
)

/** Material 3, high contrast for a phone read outdoors. */
@Composable
fun GridSafeTheme(content: @Composable () -> Unit) {
    MaterialTheme(colorScheme = colors, content = content)
}
