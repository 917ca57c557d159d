using System.Text.RegularExpressions;

namespace ChitChat.Hosting.Tests;

/// <summary>Every relative link of the repository's Markdown (README, AGENTS.md, docs/, the packages' READMEs) points at a file that exists.</summary>
public sealed partial class DocumentationLinkTests
{
    public static TheoryData<string> MarkdownFiles()
    {
        var root = Repository.Root;
        var files = new[] { "README.md", "AGENTS.md" }
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md").Select(f => Path.GetRelativePath(root, f)))
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "src"), "README.md", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)))
            .Where(f => File.Exists(Path.Combine(root, f)))
            .Select(f => f.Replace('\\', '/'))
            .Order(StringComparer.Ordinal);
        return [.. files];
    }

    [Theory]
    [MemberData(nameof(MarkdownFiles))]
    public void Relative_links_point_at_files_that_exist(string file)
    {
        var path = Path.Combine(Repository.Root, file);
        var directory = Path.GetDirectoryName(path)!;
        var broken = Link().Matches(File.ReadAllText(path))
            .Select(m => m.Groups[1].Value)
            .Where(target => !target.Contains("://", StringComparison.Ordinal) && !target.StartsWith('#') && !target.StartsWith("mailto:", StringComparison.Ordinal))
            .Select(target => target.Split('#')[0])
            .Where(target => target.Length > 0 && !File.Exists(Path.Combine(directory, target)) && !Directory.Exists(Path.Combine(directory, target)))
            .Distinct()
            .ToArray();
        Assert.True(broken.Length == 0, $"{file} links to missing files: {string.Join(", ", broken)}");
    }

    [GeneratedRegex(@"\]\(([^)\s]+)(?:\s+""[^""]*"")?\)")]
    private static partial Regex Link();
}
