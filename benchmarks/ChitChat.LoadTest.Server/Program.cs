// ChitChat node for benchmarks/ChitChat.LoadTest.
// Usage: ChitChat.LoadTest.Server --urls http://127.0.0.1:P --db PATH [--redis 127.0.0.1:6379] --ChitChat:Auth:SigningKey KEY
// Rate limiting of sends is switched off (ChitChat:SendRateLimit=0) by the driver: the benchmark measures fan-out,
// not the per-user limit. Password hashing iterations are lowered for the same reason. Both are documented in
// docs/benchmarks.md. The driver's --db and --redis become the configuration keys builder.AddChitChat() reads.
var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var db = builder.Configuration["db"] ?? throw new InvalidOperationException("--db is required");
builder.Configuration["ChitChat:Sqlite:ConnectionString"] = $"Data Source={db}";
if (builder.Configuration["redis"] is { Length: > 0 } redis)
{
    builder.Configuration["ChitChat:Transport"] = "Redis";
    builder.Configuration["ChitChat:Redis:Configuration"] = redis;
}

builder.AddChitChat().AddAspNetCore();

var app = builder.Build();
app.UseChitChat();
app.MapChitChat();
app.Run();
