// ChitChat node for benchmarks/ChitChat.LoadTest.
// Usage: ChitChat.LoadTest.Server --urls http://127.0.0.1:P --db PATH [--redis 127.0.0.1:6379] --ChitChat:Auth:SigningKey KEY
// Rate limiting of sends is switched off (ChitChat:SendRateLimit=0) by the driver: the benchmark measures fan-out,
// not the per-user limit. Password hashing iterations are lowered for the same reason. Both are documented in
// docs/benchmarks.md.
var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var db = builder.Configuration["db"] ?? throw new InvalidOperationException("--db is required");
var redis = builder.Configuration["redis"];

var chat = builder.Services.AddChitChat().UseSqlite($"Data Source={db}");
if (!string.IsNullOrEmpty(redis))
{
    chat.UseRedisTransport(redis);
}

chat.AddAspNetCore();

var app = builder.Build();
app.UseChitChat();
app.MapChitChat();
app.Run();
