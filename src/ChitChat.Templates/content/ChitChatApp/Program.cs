#if (NoUi)
// ChitChatApp: the ChitChat HTTP API and SignalR hub in one process.
#else
// ChitChatApp: the ChitChat HTTP API and SignalR hub, and the browser UI in wwwroot, in one process.
#endif
// Configuration: appsettings.json, environment variables ChitChat__..., the command line (--ChitChat:Store=InMemory).
// builder.AddChitChat() picks the store, transport and replication from ChitChat:Store/Transport/Replication.
var builder = WebApplication.CreateBuilder(args);
builder.AddChitChat()  // options from the "ChitChat" section, providers from the packages referenced
    .AddAspNetCore();  // the hub, the HTTP API, JWT authentication

var app = builder.Build();

#if (!NoUi)
app.UseDefaultFiles(); // / serves wwwroot/index.html
app.UseStaticFiles();
#endif
app.UseChitChat();     // problem details and rate limiting: required by MapChitChat
app.MapChitChat();     // /hubs/chat, /api/..., /health

app.Run();
