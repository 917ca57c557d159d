using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ChitChat.AspNetCore.Hosting;

/// <summary>
/// Writes <c>GET /health</c> as JSON: <c>{"status": "Healthy", "totalDurationMs": 1.2, "checks": {"store": {"status",
/// "description", "durationMs"}, ...}}</c>. Exception details are never written (they may name hosts or credentials).
/// </summary>
internal static class HealthResponseWriter
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        var body = new HealthBody(
            report.Status.ToString(),
            Math.Round(report.TotalDuration.TotalMilliseconds, 1),
            report.Entries.ToDictionary(
                e => e.Key,
                e => new HealthEntry(e.Value.Status.ToString(), e.Value.Description, Math.Round(e.Value.Duration.TotalMilliseconds, 1)),
                StringComparer.Ordinal));
        return JsonSerializer.SerializeAsync(context.Response.Body, body, JsonSerializerOptions.Web, context.RequestAborted);
    }

    private sealed record HealthBody(string Status, double TotalDurationMs, Dictionary<string, HealthEntry> Checks);

    private sealed record HealthEntry(string Status, string? Description, double DurationMs);
}
