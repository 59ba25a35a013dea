import java.util.Properties

plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
    id("org.jetbrains.kotlin.plugin.compose")
}

// The same versions scripts/android builds and tests with on the project's Linux machines.
val v = Properties().apply { rootProject.file("versions.properties").inputStream().use { load(it) } }
fun v(key: String): String = v.getProperty(key) ?: error("versions.properties has no $key")

android {
    namespace = "cn.gridsafe.app"
    compileSdk = 35

    defaultConfig {
        applicationId = "cn.gridsafe.app"
        minSdk = v("minSdk").toInt()
        targetSdk = v("targetSdk").toInt()
        versionCode = v("versionCode").toInt()
        versionName = v("versionName")
        ndk { abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64") }
    }

    buildFeatures { compose = true }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }

    sourceSets["main"].apply {
        // The generated uniffi bindings and the binding layer the JVM tests cover: the app adds
        // screens only, no logic of its own.
        java.srcDirs("../../target/bindings/kotlin", "../bindings-jvm/src/main/kotlin")
        // libgridsafe_ffi.so per ABI, built by cargo-ndk (see README.md).
        jniLibs.srcDirs("src/main/jniLibs")
    }
    // Test helpers shared with the binding layer's tests (whole walks answered).
    sourceSets["test"].java.srcDirs("../testing/kotlin")
    testOptions { unitTests.isIncludeAndroidResources = true }
}

dependencies {
    // JNA with its Android native parts (the @aar), as the generated bindings need.
    implementation("net.java.dev.jna:jna:${v("jna")}@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:${v("coroutines")}")
    implementation(platform("androidx.compose:compose-bom:${v("composeBom")}"))
    implementation("androidx.compose.material3:material3:${v("material3")}")
    implementation("androidx.compose.ui:ui")
    implementation("androidx.compose.foundation:foundation")
    implementation("androidx.activity:activity-compose:${v("activity")}")
    implementation("androidx.work:work-runtime:${v("work")}")

    testImplementation("junit:junit:${v("junit")}")
    testImplementation("org.robolectric:robolectric:${v("robolectric")}")
    testImplementation("androidx.test:core:${v("androidxTest")}")
    testImplementation("androidx.work:work-testing:${v("work")}")
    testImplementation("androidx.compose.ui:ui-test-junit4")
    testImplementation("net.java.dev.jna:jna:${v("jna")}")
}
