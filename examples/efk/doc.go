// Package efk embeds the assets of the EFK (Elasticsearch, Fluent Bit,
// Kibana) deployment so the nri-audit command can install them without
// files on disk: the Elasticsearch index templates, component templates
// and lifecycle policies under templates/ (and, in kibana.go, the Kibana
// saved objects).
//
// Output: Asset values (an Elasticsearch API path and the JSON body to PUT
// there) in install order. The package does no I/O.
package efk
