// The GridSafe Android app. Build on a workstation with Android Studio (see README.md): this
// repository's CI has no Android SDK, so it builds and tests the Kotlin binding layer on the JVM
// (bindings-jvm) instead.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "GridSafe"
include(":app")
