// The ChitChat sample web host: the HTTP API, the SignalR hub and the browser client (wwwroot) in one process.
// Configuration: appsettings.json, environment variables ChitChat__..., command line (--ChitChat:Store=InMemory).
// builder.AddChitChat() picks the store, transport and replication from ChitChat:Store/Transport/Replication.
var builder = WebApplication.CreateBuilder(args);
builder.AddChitChat()
    .AddAspNetCore().AddLegacyApi(); // the ChitChat 1 API maps nothing unless ChitChat:Legacy:Enabled=true
builder.AddChitChatTelemetry(); // OpenTelemetry: exports only what ChitChat:Telemetry (or OTEL_EXPORTER_OTLP_ENDPOINT) asks for

var app = builder.Build();

app.UseDefaultFiles();
app.UseStaticFiles();
app.UseChitChat();
app.MapChitChat();
app.MapChitChatLegacy(); // ChitChat 1 compatible API; maps nothing unless ChitChat:Legacy:Enabled=true
app.MapChitChatTelemetry(); // GET /metrics for Prometheus; maps nothing unless ChitChat:Telemetry:Prometheus:Enabled=true

app.Run();
