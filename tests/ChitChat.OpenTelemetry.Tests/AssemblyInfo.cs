// An OpenTelemetry meter provider listens to every meter named ChitChat in the process, whichever service provider
// created it: tests that run at the same time would see each other's measurements. One test at a time.
[assembly: CollectionBehavior(CollectionBehavior.CollectionPerAssembly)]
