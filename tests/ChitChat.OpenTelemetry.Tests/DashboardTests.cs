using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using ChitChat.Diagnostics;

namespace ChitChat.OpenTelemetry.Tests;

/// <summary>
/// <c>docs/grafana/chitchat-dashboard.json</c> against <c>docs/observability.md</c>: the dashboard is valid Grafana JSON
/// with a Prometheus data source variable, and queries only metrics the document lists (under their Prometheus names,
/// derived here from each instrument's name, kind and unit the way the OpenTelemetry Prometheus exporter derives them).
/// </summary>
public sealed partial class DashboardTests
{
    private static readonly string Docs = Path.Combine(AppContext.BaseDirectory, "docs");

    [Fact]
    public void The_dashboard_queries_only_documented_metrics()
    {
        var documented = DocumentedInstruments();
        var allowed = documented.SelectMany(PrometheusSeries).ToHashSet(StringComparer.Ordinal);
        var queried = Queries(Dashboard()).SelectMany(q => MetricName().Matches(q).Select(m => m.Value)).ToHashSet(StringComparer.Ordinal);

        Assert.NotEmpty(queried);
        Assert.All(queried, name => Assert.True(allowed.Contains(name), $"the dashboard queries {name}, which docs/observability.md does not list"));
        // The panels the issue asks for.
        foreach (var wanted in new[]
        {
            "chitchat_messages_sent_total", "chitchat_messages_delivered_total", "chitchat_message_send_duration_seconds_bucket",
            "chitchat_connections", "chitchat_delivery_queue_depth", "chitchat_delivery_shed_connections_total", "chitchat_replication_lag_seconds",
        })
        {
            Assert.Contains(wanted, queried);
        }
    }

    [Fact]
    public void The_documented_Prometheus_names_are_the_derived_ones()
    {
        foreach (var instrument in DocumentedInstruments())
        {
            Assert.Equal(Derive(instrument), instrument.Prometheus);
        }
    }

    [Fact]
    public void Every_instrument_and_activity_name_is_documented()
    {
        var names = typeof(ChitChatInstrumentNames).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral)
            .ToDictionary(f => f.Name, f => (string)f.GetRawConstantValue()!);
        var instruments = DocumentedInstruments().Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var doc = File.ReadAllText(Path.Combine(Docs, "observability.md"));
        foreach (var (field, value) in names)
        {
            if (field.EndsWith("Activity", StringComparison.Ordinal))
            {
                Assert.Contains($"| `{value}` |", doc, StringComparison.Ordinal);
            }
            else
            {
                Assert.True(instruments.Contains(value), $"{field} ({value}) is not in the instrument table of docs/observability.md");
            }
        }

        Assert.Equal(instruments.Count, names.Keys.Count(k => !k.EndsWith("Activity", StringComparison.Ordinal)));
    }

    [Fact]
    public void The_dashboard_is_Grafana_JSON_with_a_Prometheus_data_source_variable()
    {
        var dashboard = Dashboard();
        Assert.False(string.IsNullOrEmpty(dashboard.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrEmpty(dashboard.GetProperty("uid").GetString()));
        Assert.True(dashboard.GetProperty("schemaVersion").GetInt32() >= 36);
        var variables = dashboard.GetProperty("templating").GetProperty("list").EnumerateArray().ToArray();
        var datasource = Assert.Single(variables, v => v.GetProperty("type").GetString() == "datasource");
        Assert.Equal("prometheus", datasource.GetProperty("query").GetString());
        var reference = "${" + datasource.GetProperty("name").GetString() + "}";

        var panels = dashboard.GetProperty("panels").EnumerateArray().Where(p => p.GetProperty("type").GetString() != "row").ToArray();
        Assert.True(panels.Length >= 7, $"{panels.Length} panels");
        var ids = dashboard.GetProperty("panels").EnumerateArray().Select(p => p.GetProperty("id").GetInt32()).ToArray();
        Assert.Equal(ids.Length, ids.Distinct().Count());
        foreach (var panel in panels)
        {
            var title = panel.GetProperty("title").GetString();
            Assert.Equal(reference, panel.GetProperty("datasource").GetProperty("uid").GetString());
            var targets = panel.GetProperty("targets").EnumerateArray().ToArray();
            Assert.True(targets.Length > 0, $"panel {title} has no query");
            Assert.All(targets, t => Assert.False(string.IsNullOrWhiteSpace(t.GetProperty("expr").GetString()), $"panel {title}"));
            var grid = panel.GetProperty("gridPos");
            Assert.True(grid.GetProperty("x").GetInt32() + grid.GetProperty("w").GetInt32() <= 24, $"panel {title} is wider than the grid");
        }
    }

    private static JsonElement Dashboard()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Docs, "grafana", "chitchat-dashboard.json")));
        return document.RootElement.Clone();
    }

    /// <summary>Every PromQL string of the dashboard: panel targets and variable queries.</summary>
    private static IEnumerable<string> Queries(JsonElement dashboard)
    {
        foreach (var panel in dashboard.GetProperty("panels").EnumerateArray())
        {
            if (panel.TryGetProperty("targets", out var targets))
            {
                foreach (var target in targets.EnumerateArray())
                {
                    yield return target.GetProperty("expr").GetString()!;
                }
            }
        }

        foreach (var variable in dashboard.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            if (variable.GetProperty("type").GetString() == "query")
            {
                var query = variable.GetProperty("query");
                yield return query.ValueKind == JsonValueKind.Object ? query.GetProperty("query").GetString()! : query.GetString()!;
            }
        }
    }

    private sealed record Instrument(string Name, string Kind, string Unit, string Prometheus);

    /// <summary>The rows of the instrument table of docs/observability.md: name, kind, unit and the Prometheus name.</summary>
    private static IReadOnlyList<Instrument> DocumentedInstruments()
    {
        var rows = File.ReadAllLines(Path.Combine(Docs, "observability.md"))
            .Where(l => l.StartsWith("| `chitchat.", StringComparison.Ordinal))
            .Select(l => l.Split('|').Select(c => c.Trim().Trim('`')).ToArray())
            .Where(c => c.Length >= 8 && c[2] is "counter" or "up-down counter" or "gauge" or "histogram")
            .Select(c => new Instrument(c[1], c[2], c[3], c[6]))
            .ToArray();
        Assert.NotEmpty(rows);
        return rows;
    }

    /// <summary>The Prometheus name the OpenTelemetry exporter gives an instrument: dots to underscores, the unit as a
    /// suffix (<c>s</c> → <c>_seconds</c>, annotations like <c>{message}</c> → nothing), <c>_total</c> on counters.</summary>
    private static string Derive(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_');
        var unit = instrument.Unit switch
        {
            "s" => "seconds",
            "By" => "bytes",
            "1" when instrument.Kind == "gauge" => "ratio",
            var u when u.StartsWith('{') => "",
            var u => u,
        };
        if (unit.Length > 0 && !name.EndsWith("_" + unit, StringComparison.Ordinal))
        {
            name += "_" + unit;
        }

        return instrument.Kind == "counter" ? name + "_total" : name;
    }

    /// <summary>The series an instrument is scraped as.</summary>
    private static IEnumerable<string> PrometheusSeries(Instrument instrument)
    {
        var name = Derive(instrument);
        return instrument.Kind == "histogram" ? [name + "_bucket", name + "_sum", name + "_count"] : [name];
    }

    [GeneratedRegex(@"\bchitchat_[a-z0-9_]+")]
    private static partial Regex MetricName();
}
