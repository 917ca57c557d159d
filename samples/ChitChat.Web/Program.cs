using ChitChat.Web;

// The ChitChat sample web host: the HTTP API, the SignalR hub and the browser client (wwwroot) in one process.
// Configuration: appsettings.json, environment variables ChitChat__..., command line (--ChitChat:Store=InMemory).
var builder = WebApplication.CreateBuilder(args);

builder.AddChitChatSample();

var app = builder.Build();

app.UseDefaultFiles();
app.UseStaticFiles();
app.UseChitChat();
app.MapChitChat();
app.MapChitChatLegacy(); // ChitChat 1 compatible API; maps nothing unless ChitChat:Legacy:Enabled=true

app.Run();
