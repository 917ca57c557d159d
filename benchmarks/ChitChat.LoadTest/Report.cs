using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ChitChat.LoadTest;

/// <summary>Prints the summary table (medians and ChitChat/baseline ratios) and writes CSV and JSON.</summary>
internal static class Report
{
    public static void Write(IReadOnlyList<RunResult> results, IReadOnlyList<SoakResult> soaks, string outDir)
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

        var summary = new StringBuilder("scenario,rooms,receivers,nodes,chitchat_deliveries_per_s,signalr_deliveries_per_s,throughput_ratio,chitchat_p99_ms,signalr_p99_ms,p99_ratio,chitchat_lost,chitchat_dup,signalr_lost,signalr_dup\n");
        Console.WriteLine();
        Console.WriteLine("| scenario | rooms × receivers | nodes | ChitChat deliveries/s | SignalR deliveries/s | ratio | ChitChat p50/p90/p99/max ms | SignalR p50/p90/p99/max ms | p99 ratio | lost/dup (CC, SR) | server CPU s (CC, SR) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var g in results.GroupBy(r => (r.Spec.Scenario, r.Spec.Rooms, r.Spec.ReceiversPerRoom, r.Spec.Nodes)))
        {
            var cc = g.Where(r => r.Spec.Target == Target.ChitChat).ToList();
            var sr = g.Where(r => r.Spec.Target == Target.SignalR).ToList();
            double M(IEnumerable<double> xs)
            {
                var a = xs.Order().ToArray();
                return a.Length == 0 ? double.NaN : a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
            }

            var ccT = M(cc.Select(r => r.DeliveriesPerSecond));
            var srT = M(sr.Select(r => r.DeliveriesPerSecond));
            var ccP = M(cc.Select(r => r.P99Ms));
            var srP = M(sr.Select(r => r.P99Ms));
            string Lat(List<RunResult> rs) => rs.Count == 0 ? "-" : $"{M(rs.Select(r => r.P50Ms)):F1}/{M(rs.Select(r => r.P90Ms)):F1}/{M(rs.Select(r => r.P99Ms)):F1}/{M(rs.Select(r => r.MaxMs)):F1}";
            Console.WriteLine(string.Create(inv,
                $"| {g.Key.Scenario} | {g.Key.Rooms} × {g.Key.ReceiversPerRoom} | {g.Key.Nodes} | {ccT:N0} | {srT:N0} | {ccT / srT:F2} | {Lat(cc)} | {Lat(sr)} | {ccP / srP:F2} | " +
                $"{cc.Sum(r => r.Lost)}/{cc.Sum(r => r.Duplicates)}, {sr.Sum(r => r.Lost)}/{sr.Sum(r => r.Duplicates)} | {M(cc.Select(r => r.ServerCpuSeconds)):F1}, {M(sr.Select(r => r.ServerCpuSeconds)):F1} |"));
            summary.AppendLine(string.Create(inv, $"{g.Key.Scenario},{g.Key.Rooms},{g.Key.ReceiversPerRoom},{g.Key.Nodes},{ccT:F0},{srT:F0},{ccT / srT:F3},{ccP:F2},{srP:F2},{ccP / srP:F3},{cc.Sum(r => r.Lost)},{cc.Sum(r => r.Duplicates)},{sr.Sum(r => r.Lost)},{sr.Sum(r => r.Duplicates)}"));
        }

        File.WriteAllText(Path.Combine(outDir, "summary.csv"), summary.ToString());
        if (soaks.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine("| soak | connections | connect time s | server RSS before MB | after MB | KB per connection |");
            Console.WriteLine("|---|---|---|---|---|---|");
            foreach (var s in soaks)
            {
                Console.WriteLine(string.Create(inv, $"| {s.Target} | {s.Connections} | {s.ConnectSeconds:F1} | {s.RssBeforeBytes / 1048576.0:F0} | {s.RssAfterBytes / 1048576.0:F0} | {s.BytesPerConnection / 1024:F1} |"));
            }
        }

        File.WriteAllText(Path.Combine(outDir, "results.json"), JsonSerializer.Serialize(new { results, soaks }, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        Console.WriteLine($"\nwrote {Path.Combine(outDir, "results.csv")}, summary.csv and results.json");
    }
}
