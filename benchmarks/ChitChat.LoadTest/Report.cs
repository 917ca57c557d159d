using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ChitChat.LoadTest;

/// <summary>Prints the summary table (medians and ChitChat/baseline ratios) and writes CSV and JSON.</summary>
internal static class Report
{
    public static void Write(IReadOnlyList<RunResult> results, IReadOnlyList<ConnectionsResult> connections, IReadOnlyList<SoakResult> soaks, string outDir)
    {
        var inv = CultureInfo.InvariantCulture;
        var csv = new StringBuilder("scenario,target,rooms,receivers,senders,nodes,messages,repeat,seconds,deliveries,deliveries_per_s,p50_ms,p90_ms,p99_ms,max_ms,lost,duplicates,server_cpu_s,driver_cpu_s\n");
        foreach (var r in results)
        {
            var s = r.Spec;
            csv.AppendLine(string.Join(',', s.Scenario, s.Target, s.Rooms.ToString(inv), s.ReceiversPerRoom.ToString(inv), s.Senders.ToString(inv), s.Nodes.ToString(inv), s.Messages.ToString(inv),
                r.Repeat.ToString(inv), r.Seconds.ToString("F3", inv), r.Deliveries.ToString(inv), r.DeliveriesPerSecond.ToString("F0", inv), r.P50Ms.ToString("F2", inv), r.P90Ms.ToString("F2", inv),
                r.P99Ms.ToString("F2", inv), r.MaxMs.ToString("F2", inv), r.Lost.ToString(inv), r.Duplicates.ToString(inv), r.ServerCpuSeconds.ToString("F2", inv), r.DriverCpuSeconds.ToString("F2", inv)));
        }

        File.WriteAllText(Path.Combine(outDir, "results.csv"), csv.ToString());

        var summary = new StringBuilder("scenario,rooms,receivers,nodes,chitchat_deliveries_per_s,signalr_deliveries_per_s,websocket_deliveries_per_s,throughput_ratio,websocket_ratio,chitchat_p99_ms,signalr_p99_ms,websocket_p99_ms,p99_ratio,chitchat_lost,chitchat_dup,signalr_lost,signalr_dup,websocket_lost,websocket_dup,chitchat_spread,signalr_spread\n");
        if (results.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine("Medians of the alternating runs; spread = (max - min) / median of deliveries/s over the runs. Ratios: ChitChat / raw SignalR and ChitChat / plain WebSocket broadcast.");
            Console.WriteLine();
            Console.WriteLine("| scenario | rooms × receivers | nodes | ChitChat deliveries/s | SignalR | WebSocket | ratio vs SignalR | ratio vs WebSocket | ChitChat p50/p90/p99/max ms | SignalR p50/p90/p99/max ms | WebSocket p50/p90/p99/max ms | p99 ratio vs SignalR | lost/dup (CC, SR, WS) | spread (CC, SR, WS) | server CPU s (CC, SR, WS) |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        }

        foreach (var g in results.GroupBy(r => (r.Spec.Scenario, r.Spec.Rooms, r.Spec.ReceiversPerRoom, r.Spec.Nodes)))
        {
            var cc = g.Where(r => r.Spec.Target == Target.ChitChat).ToList();
            var sr = g.Where(r => r.Spec.Target == Target.SignalR).ToList();
            var ws = g.Where(r => r.Spec.Target == Target.WebSocket).ToList();
            var ccT = Median(cc.Select(r => r.DeliveriesPerSecond));
            var srT = Median(sr.Select(r => r.DeliveriesPerSecond));
            var wsT = Median(ws.Select(r => r.DeliveriesPerSecond));
            var ccP = Median(cc.Select(r => r.P99Ms));
            var srP = Median(sr.Select(r => r.P99Ms));
            var wsP = Median(ws.Select(r => r.P99Ms));
            static string Lat(List<RunResult> rs) => rs.Count == 0 ? "-" : $"{Median(rs.Select(r => r.P50Ms)):F1}/{Median(rs.Select(r => r.P90Ms)):F1}/{Median(rs.Select(r => r.P99Ms)):F1}/{Median(rs.Select(r => r.MaxMs)):F1}";
            static string LostDup(List<RunResult> rs) => rs.Count == 0 ? "-" : $"{rs.Sum(r => r.Lost)}/{rs.Sum(r => r.Duplicates)}";
            static string Spread(List<RunResult> rs) => rs.Count < 2 ? "-" : $"{SpreadOf(rs):P0}";
            static string Cpu(List<RunResult> rs) => rs.Count == 0 ? "-" : $"{Median(rs.Select(r => r.ServerCpuSeconds)):F1}";
            Console.WriteLine(string.Create(inv,
                $"| {g.Key.Scenario} | {g.Key.Rooms} × {g.Key.ReceiversPerRoom} | {g.Key.Nodes} | {ccT:N0} | {srT:N0} | {wsT:N0} | {ccT / srT:F2} | {ccT / wsT:F2} | {Lat(cc)} | {Lat(sr)} | {Lat(ws)} | {ccP / srP:F2} | " +
                $"{LostDup(cc)}, {LostDup(sr)}, {LostDup(ws)} | {Spread(cc)}, {Spread(sr)}, {Spread(ws)} | {Cpu(cc)}, {Cpu(sr)}, {Cpu(ws)} |"));
            summary.AppendLine(string.Create(inv,
                $"{g.Key.Scenario},{g.Key.Rooms},{g.Key.ReceiversPerRoom},{g.Key.Nodes},{ccT:F0},{srT:F0},{wsT:F0},{ccT / srT:F3},{ccT / wsT:F3},{ccP:F2},{srP:F2},{wsP:F2},{ccP / srP:F3}," +
                $"{cc.Sum(r => r.Lost)},{cc.Sum(r => r.Duplicates)},{sr.Sum(r => r.Lost)},{sr.Sum(r => r.Duplicates)},{ws.Sum(r => r.Lost)},{ws.Sum(r => r.Duplicates)},{SpreadOf(cc):F3},{SpreadOf(sr):F3}"));
        }

        File.WriteAllText(Path.Combine(outDir, "summary.csv"), summary.ToString());
        if (connections.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine("| connections | target | connect time s | server RSS before MB | after MB | KB per connection |");
            Console.WriteLine("|---|---|---|---|---|---|");
            foreach (var s in connections)
            {
                Console.WriteLine(string.Create(inv, $"| {s.Target} | {s.Connections} | {s.ConnectSeconds:F1} | {s.RssBeforeBytes / 1048576.0:F0} | {s.RssAfterBytes / 1048576.0:F0} | {s.BytesPerConnection / 1024:F1} |"));
            }
        }

        if (soaks.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine("| soak | connections × rooms | senders, msg/s, s | deliveries | lost/dup | p50/p99/max ms | p99 by tenth of the run, ms | server RSS idle / after warm-up / peak / end, MB |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|");
            foreach (var s in soaks)
            {
                static string Mb(long bytes) => (bytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture);
                Console.WriteLine(string.Create(inv,
                    $"| {s.Spec.Target} | {s.Spec.Connections} × {s.Spec.Rooms} | {s.Spec.Senders}, {s.Spec.MessagesPerSecond:F0}, {s.Spec.Seconds:F0} | {s.Delivered:N0} of {s.Expected:N0} | {s.Lost}/{s.Duplicates} | " +
                    $"{s.P50Ms:F1}/{s.P99Ms:F1}/{s.MaxMs:F1} | {string.Join(" ", s.P99ByWindowMs.Select(p => p.ToString("F0", inv)))} | {Mb(s.RssIdleBytes)} / {Mb(s.RssAfterWarmupBytes)} / {Mb(s.RssPeakBytes)} / {Mb(s.RssEndBytes)} |"));
            }
        }

        File.WriteAllText(Path.Combine(outDir, "results.json"), JsonSerializer.Serialize(new { results, connections, soaks = soaks.Select(s => new { s.Spec, s.ConnectSeconds, s.Expected, s.Delivered, s.Lost, s.Duplicates, s.P50Ms, s.P99Ms, s.MaxMs, s.P99ByWindowMs, s.RssIdleBytes, s.RssAfterWarmupBytes, s.RssPeakBytes, s.RssEndBytes, RssSamples = s.RssSamples.Select(x => new { x.Seconds, x.RssBytes }) }) }, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } }));
        Console.WriteLine($"\nwrote {Path.Combine(outDir, "results.csv")}, summary.csv and results.json");
    }

    private static double Median(IEnumerable<double> values)
    {
        var a = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        return a.Length == 0 ? double.NaN : a.Length % 2 == 1 ? a[a.Length / 2] : (a[(a.Length / 2) - 1] + a[a.Length / 2]) / 2;
    }

    private static double SpreadOf(List<RunResult> runs)
    {
        if (runs.Count < 2)
        {
            return double.NaN;
        }

        var throughput = runs.Select(r => r.DeliveriesPerSecond).ToList();
        return (throughput.Max() - throughput.Min()) / Median(throughput);
    }
}
