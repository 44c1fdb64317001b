#if canImport(Glibc)
import Glibc
#endif
import CStowageShim
import StowageCore

/// Sizes and times as the docker CLI prints them (go-units).
public enum Units {
    /// `HumanSizeWithPrecision`: decimal units, `%.*g`: `1.98MB`, `17B`, `0B`.
    public static func humanSize(_ bytes: Int64, precision: Int32 = 3) -> String {
        scaled(bytes, by: 1000, units: ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"], precision: precision)
    }

    /// `BytesSize`: binary units, four significant digits (`23.54GiB`), as `docker info` shows memory.
    public static func binarySize(_ bytes: Int64) -> String {
        scaled(bytes, by: 1024, units: ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"], precision: 4)
    }

    /// go-units' scaling: divided by `base` while it reaches it, with the unit of that power.
    private static func scaled(_ bytes: Int64, by base: Double, units: [String], precision: Int32) -> String {
        var size = Double(bytes)
        var index = 0
        while size >= base, index < units.count - 1 {
            size /= base
            index += 1
        }
        return significant(size, precision) + units[index]
    }

    /// `HumanDuration`: `Less than a second`, `About a minute`, `3 hours`, `2 weeks`, …
    public static func humanDuration(seconds: Int64) -> String {
        if seconds < 1 { return "Less than a second" }
        if seconds == 1 { return "1 second" }
        if seconds < 60 { return "\(seconds) seconds" }
        let minutes = seconds / 60
        if minutes == 1 { return "About a minute" }
        if minutes < 60 { return "\(minutes) minutes" }
        let hours = Int64(Double(seconds) / 3600 + 0.5)
        if hours == 1 { return "About an hour" }
        if hours < 48 { return "\(hours) hours" }
        if hours < 24 * 7 * 2 { return "\(hours / 24) days" }
        if hours < 24 * 30 * 2 { return "\(hours / 24 / 7) weeks" }
        if hours < 24 * 365 * 2 { return "\(hours / 24 / 30) months" }
        return "\(seconds / 3600 / 24 / 365) years"
    }

    /// `5 minutes ago`, as `CreatedSince` shows a time.
    public static func ago(_ seconds: Int64) -> String {
        humanDuration(seconds: Timestamp.now().seconds - seconds) + " ago"
    }

    /// Go's `time.Time.String()` in UTC: `2026-11-22 15:55:22 +0000 UTC`.
    public static func goTimeString(_ seconds: Int64) -> String {
        let text = Timestamp.formatRFC3339(seconds: seconds)
        return text.prefix(10) + " " + text.dropFirst(11).prefix(8) + " +0000 UTC"
    }

    /// `%.<precision>g`.
    private static func significant(_ value: Double, _ precision: Int32) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
            _ = stowage_format_significant(buffer.baseAddress!, UInt(buffer.count), precision, value)
            return String(cString: buffer.baseAddress!)
        }
    }

}
