{{/*
Rules values.schema.json cannot express; each failure names the value path and the reason.
Included once, from configmap.yaml.
*/}}
{{- define "rollway.validate" -}}
{{- $v := .Values }}
{{- if and (gt (int $v.apiserver.replicas) 1) (not $v.database.existingSecret) }}
{{- fail "apiserver.replicas: more than 1 needs PostgreSQL (database.existingSecret); SQLite lives on one pod's volume" }}
{{- end }}
{{- if and (eq $v.argo.server.token.source "secret") (not $v.argo.server.token.existingSecret) }}
{{- fail "argo.server.token.existingSecret: required when argo.server.token.source is secret" }}
{{- end }}
{{- if and (ne $v.argo.server.token.source "secret") $v.argo.server.token.existingSecret }}
{{- fail (printf "argo.server.token.existingSecret: only used with source secret, not %s" $v.argo.server.token.source) }}
{{- end }}
{{- if and (eq $v.argo.server.token.source "serviceAccount") (not $v.serviceAccount.create) }}
{{- fail "argo.server.token.source: serviceAccount needs serviceAccount.create (the token Secret is made for the ServiceAccount the chart creates); use source secret otherwise" }}
{{- end }}
{{- if and $v.ingress.enabled (not $v.ingress.hosts) }}
{{- fail "ingress.hosts: at least one host when ingress.enabled is true" }}
{{- end }}
{{- if and $v.apiserver.persistence.existingClaim (not $v.apiserver.persistence.enabled) }}
{{- fail "apiserver.persistence.existingClaim: only used when apiserver.persistence.enabled is true" }}
{{- end }}
{{- if and $v.rbac.clusterWide $v.rbac.targetNamespaces }}
{{- fail "rbac.targetNamespaces: leave it empty with rbac.clusterWide=true (the rights then hold in every namespace)" }}
{{- end }}
{{- if has .Release.Namespace $v.rbac.targetNamespaces }}
{{- fail (printf "rbac.targetNamespaces: %s is Rollway's own namespace; release apps into other namespaces" .Release.Namespace) }}
{{- end }}
{{- if $v.platformSecrets.create }}
{{- $s := $v.platformSecrets }}
{{- if ne (not $s.maven.username) (not $s.maven.password) }}
{{- fail "platformSecrets.maven: give both username and password, or neither (anonymous Nexus)" }}
{{- end }}
{{- if not (and $s.registry.username $s.registry.password) }}
{{- fail "platformSecrets.registry: username and password of the Harbor robot account are required with platformSecrets.create=true" }}
{{- end }}
{{- if and $v.callback.enabled (not (and $s.callback.clientId $s.callback.clientSecret)) }}
{{- fail "platformSecrets.callback: clientId and clientSecret of the Keycloak client the exit handler reports as are required with platformSecrets.create=true (or set callback.enabled=false)" }}
{{- end }}
{{- end }}
{{- end }}
