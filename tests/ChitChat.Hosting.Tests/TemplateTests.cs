using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;

namespace ChitChat.Hosting.Tests;

/// <summary>
/// <c>dotnet new chitchat</c> as a user runs it: ChitChat.Templates and the packages its app references packed with a
/// version unique to this run, the template installed from the .nupkg into an isolated hive (the machine's template list
/// is untouched), and an app created, built and started outside the repository.
/// </summary>
public sealed partial class TemplateTests(TemplateTests.InstalledTemplate template) : IClassFixture<TemplateTests.InstalledTemplate>
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Gets the template's source folder in the repository.</summary>
    private static string TemplateSource => Path.Combine(Repository.Root, "src", "ChitChat.Templates", "content", "ChitChatApp");

    /// <summary>Gets the UI the template takes from the sample at pack time.</summary>
    private static string SampleWebRoot => Path.Combine(Repository.Root, "samples", "ChitChat.Web", "wwwroot");

    [Fact]
    public async Task The_new_app_references_the_packages_of_the_template_version_builds_serves_the_UI_and_chats()
    {
        var app = await template.NewAsync("ChatApp");

        var project = File.ReadAllText(Path.Combine(app, "ChatApp.csproj"));
        foreach (var package in InstalledTemplate.ReferencedPackages())
        {
            Assert.Contains($"<PackageReference Include=\"{package}\" Version=\"{template.Version}\" />", project);
        }

        AssertNoPlaceholders(app);
        var webRoot = Path.Combine(app, "wwwroot");
        Assert.Equal(Files(SampleWebRoot), Files(webRoot));
        foreach (var file in Files(SampleWebRoot))
        {
            Assert.True(File.ReadAllBytes(Path.Combine(SampleWebRoot, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(webRoot, file))), $"wwwroot/{file} differs from the sample's");
        }
        foreach (var file in new[] { "Program.cs", "appsettings.json", "appsettings.Development.json", "README.md", ".gitignore", "Properties/launchSettings.json" })
        {
            Assert.True(File.Exists(Path.Combine(app, file)), $"the new app has no {file}");
        }

        Assert.Contains("Data Source=data/chitchat.db", File.ReadAllText(Path.Combine(app, "appsettings.json")));

        await ProcessRunner.RunAsync(ProcessRunner.Dotnet(app, "build", "-nologo"), "dotnet build of the new app", CommandTimeout);
        await using var server = await AppProcess.StartAsync(app, "the new app", StartTimeout);

        using (var ui = new HttpClient { BaseAddress = server.Address, Timeout = ChatApi.RequestTimeout })
        {
            using var index = await ui.GetAsync(new Uri("/", UriKind.Relative));
            Assert.True(index.StatusCode == HttpStatusCode.OK, $"GET /: {(int)index.StatusCode}\n{server.Output}");
            Assert.Equal("text/html", index.Content.Headers.ContentType?.MediaType);
            Assert.Equal(File.ReadAllText(Path.Combine(SampleWebRoot, "index.html")), await index.Content.ReadAsStringAsync());
        }

        using var http = await ChatApi.SignUpAsync(server, "alice", "secret123");
        using (var room = await http.PostAsJsonAsync("api/rooms", new { name = "lobby" }))
        {
            Assert.True(room.StatusCode == HttpStatusCode.Created, $"create room: {(int)room.StatusCode} {await room.Content.ReadAsStringAsync()}\n{server.Output}");
        }

        await ChatApi.SendAndReadBackAsync(http, server, "lobby", "hello from dotnet new chitchat", "alice");
        Assert.True(File.Exists(Path.Combine(app, "data", "chitchat.db")), $"the app stored nothing in data/chitchat.db\n{server.Output}");
    }

    [Fact]
    public async Task No_ui_leaves_out_wwwroot_and_the_static_files()
    {
        var app = await template.NewAsync("ApiOnly", "--no-ui", "--no-restore");

        Assert.True(File.Exists(Path.Combine(app, "ApiOnly.csproj")), "dotnet new chitchat --no-ui wrote no ApiOnly.csproj");
        Assert.False(Directory.Exists(Path.Combine(app, "wwwroot")), "dotnet new chitchat --no-ui wrote wwwroot");
        var program = File.ReadAllText(Path.Combine(app, "Program.cs"));
        Assert.DoesNotContain("UseStaticFiles", program);
        Assert.DoesNotContain("#if", program);
        Assert.Contains("app.MapChitChat();", program);
        AssertNoPlaceholders(app);
    }

    /// <summary>Asserts the template engine replaced every token of the app's own files (wwwroot is copied as it is and compared byte for byte).</summary>
    private static void AssertNoPlaceholders(string app)
    {
        foreach (var file in Files(app).Where(f => !f.StartsWith("obj/", StringComparison.Ordinal) && !f.StartsWith("bin/", StringComparison.Ordinal) && !f.StartsWith("wwwroot/", StringComparison.Ordinal)))
        {
            var text = File.ReadAllText(Path.Combine(app, file));
            foreach (var placeholder in new[] { "CHITCHAT_PACKAGE_VERSION", "@ChitChatPackageVersion@", "ChitChatApp", "#endif" })
            {
                Assert.False(text.Contains(placeholder, StringComparison.Ordinal), $"{file} still contains {placeholder}");
            }
        }
    }

    private static string[] Files(string directory) =>
        [.. Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(directory, f).Replace('\\', '/')).Order(StringComparer.Ordinal)];

    /// <summary>ChitChat.Templates and the packages its app references, packed into a local feed and installed into a hive of its own.</summary>
    public sealed partial class InstalledTemplate : IAsyncLifetime
    {
        private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(10);

        private readonly TempDir _dir = new("chitchat-template-");
        private string _hive = "";

        private readonly LocalFeed _feed;

        public InstalledTemplate() => _feed = new LocalFeed(_dir.Path, "tpl");

        /// <summary>Gets the version of the template package and of the packages beside it in the feed.</summary>
        public string Version => _feed.Version;

        /// <summary>Gets the ChitChat packages the template's project references (read from the template, not repeated here).</summary>
        public static string[] ReferencedPackages() =>
            [.. PackageReference().Matches(File.ReadAllText(Path.Combine(TemplateSource, "ChitChatApp.csproj"))).Select(m => m.Groups[1].Value)];

        public async ValueTask InitializeAsync()
        {
            var packages = ReferencedPackages();
            Assert.NotEmpty(packages);
            await _feed.PackAsync(["ChitChat.Templates", .. packages], PackTimeout);
            _feed.WriteUserSettings(_dir.Path);
            _hive = Path.Combine(_dir.Path, "hive");
            await ProcessRunner.RunAsync(
                ProcessRunner.Dotnet(_dir.Path, "new", "install", _feed.Package("ChitChat.Templates"), "--debug:custom-hive", _hive),
                "dotnet new install of the template package", CommandTimeout);
        }

        /// <summary>Runs <c>dotnet new chitchat -n <paramref name="name"/></c> into a new folder of the user's folder and returns it.</summary>
        public async Task<string> NewAsync(string name, params string[] options)
        {
            var output = Path.Combine(_dir.Path, name);
            await ProcessRunner.RunAsync(
                ProcessRunner.Dotnet(_dir.Path, ["new", "chitchat", "-n", name, "-o", output, "--debug:custom-hive", _hive, .. options]),
                $"dotnet new chitchat -n {name} {string.Join(' ', options)}", CommandTimeout);
            return output;
        }

        public ValueTask DisposeAsync()
        {
            _feed.Dispose();
            _dir.Dispose();
            return ValueTask.CompletedTask;
        }

        [GeneratedRegex(@"<PackageReference\s+Include=""(ChitChat[\w.]*)""\s+Version=""CHITCHAT_PACKAGE_VERSION""")]
        private static partial Regex PackageReference();
    }
}
