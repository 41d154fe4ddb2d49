{{/*
Names and labels. rollway.fullname is fullnameOverride, the release name when it contains the
chart name (or nameOverride), else <release>-<name>; namespaced objects are <fullname>-<part>.
Cluster-scoped objects and the RoleBindings placed in target namespaces are
<release namespace>:<fullname>-<part>, so two installations in different namespaces never clash.
*/}}

{{- define "rollway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rollway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 48 | trimSuffix "-" }}
{{- else }}
{{- $name := include "rollway.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 48 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 48 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* <fullname>-<part>. Usage: include "rollway.part" (list . "apiserver") */}}
{{- define "rollway.part" -}}
{{- printf "%s-%s" (include "rollway.fullname" (index . 0)) (index . 1) }}
{{- end }}

{{/* <namespace>:<fullname>-<part>, for ClusterRoles, ClusterRoleBindings and RoleBindings
in other namespaces. Usage: include "rollway.globalPart" (list . "workflow") */}}
{{- define "rollway.globalPart" -}}
{{- $root := index . 0 }}
{{- printf "%s:%s" $root.Release.Namespace (include "rollway.part" .) }}
{{- end }}

{{- define "rollway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rollway.labels" -}}
app.kubernetes.io/name: {{ include "rollway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: rollway
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "rollway.chart" . }}
{{- end }}

{{/* Labels of one component. Usage: include "rollway.componentLabels" (list . "apiserver") */}}
{{- define "rollway.componentLabels" -}}
{{ include "rollway.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "rollway.apiserver.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rollway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: apiserver
{{- end }}

{{- define "rollway.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "rollway.apiserver.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "rollway.part" (list . "apiserver")) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name: required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the Argo Server token: "" when there is none. */}}
{{- define "rollway.argoTokenSecret" -}}
{{- $token := .Values.argo.server.token }}
{{- if eq $token.source "serviceAccount" }}
{{- include "rollway.part" (list . "apiserver-argo-token") }}
{{- else if eq $token.source "secret" }}
{{- $token.existingSecret }}
{{- end }}
{{- end }}

{{/*
ROLLWAY_ENGINE_OPTIONS: the keyword arguments of rollway.workflows.backends.ArgoBackend as JSON.
Workflows run in the release namespace, where the templates, secrets and rollway-workflow are.
Usage: include "rollway.engineOptions" (list . true) — true adds the token as $(ROLLWAY_ARGO_TOKEN),
which the kubelet expands in a container's env (not in envFrom).
*/}}
{{- define "rollway.engineOptions" -}}
{{- $root := index . 0 }}
{{- $server := $root.Values.argo.server }}
{{- $options := dict "url" $server.url "namespace" $root.Release.Namespace "verify_ssl" (not $server.insecureSkipVerify) }}
{{- if index . 1 }}
{{- $_ := set $options "token" "$(ROLLWAY_ARGO_TOKEN)" }}
{{- end }}
{{- toJson $options }}
{{- end }}

{{/* The Keycloak base URL users log in at: the issuer's, else keycloak.url. */}}
{{- define "rollway.keycloakPublicUrl" -}}
{{- if .Values.keycloak.issuer }}
{{- regexReplaceAll "/realms/[^/]+/?$" .Values.keycloak.issuer "" }}
{{- else }}
{{- trimSuffix "/" .Values.keycloak.url }}
{{- end }}
{{- end }}

{{/* The realm users log in to: the issuer's, else keycloak.realm. */}}
{{- define "rollway.keycloakRealm" -}}
{{- if .Values.keycloak.issuer }}
{{- regexReplaceAll "^.*/realms/([^/]+)/?$" .Values.keycloak.issuer "${1}" }}
{{- else }}
{{- .Values.keycloak.realm }}
{{- end }}
{{- end }}

{{/* The WorkflowTemplate files: files/workflow-templates is a symlink to workflow-templates/. */}}
{{- define "rollway.workflowTemplateFiles" -}}
{{- $files := .Files.Glob "files/workflow-templates/*.yaml" }}
{{- if not $files }}
{{- fail "files/workflow-templates/*.yaml: no templates; files/workflow-templates must be the symlink to the repository's workflow-templates/ (package the chart from a checkout, where `helm package` copies what it points to)" }}
{{- end }}
{{- $paths := list }}
{{- range $path, $_ := $files }}
{{- $paths = append $paths $path }}
{{- end }}
{{- toJson (sortAlpha $paths) }}
{{- end }}

{{/*
The ServiceAccount the workflows run as: the templates' spec.serviceAccountName, which every
template must name, and name alike (rollway-workflow).
*/}}
{{/*
The ServiceAccount every WorkflowTemplate names at one place: (list . "serviceAccountName") the
pipeline's pods, (list . "executor") Argo's executor in them (spec.executor.serviceAccountName).
*/}}
{{- define "rollway.templatesAccount" -}}
{{- $root := index . 0 }}
{{- $which := index . 1 }}
{{- $field := ternary "spec.executor.serviceAccountName" "spec.serviceAccountName" (eq $which "executor") }}
{{- $names := list }}
{{- range $path := include "rollway.workflowTemplateFiles" $root | fromJsonArray }}
{{- $spec := (($root.Files.Get $path | fromYaml).spec | default dict) }}
{{- $name := ternary (($spec.executor | default dict).serviceAccountName | default "") ($spec.serviceAccountName | default "") (eq $which "executor") }}
{{- if not $name }}
{{- fail (printf "%s: %s is not set; the chart grants its rights to that ServiceAccount" $path $field) }}
{{- end }}
{{- $names = append $names $name }}
{{- end }}
{{- $names = uniq $names }}
{{- if ne (len $names) 1 }}
{{- fail (printf "files/workflow-templates: the templates name different ServiceAccounts %v in %s; they must share one" $names $field) }}
{{- end }}
{{- first $names }}
{{- end }}

{{- define "rollway.workflowServiceAccountName" -}}
{{- include "rollway.templatesAccount" (list . "serviceAccountName") }}
{{- end }}

{{- define "rollway.executorServiceAccountName" -}}
{{- include "rollway.templatesAccount" (list . "executor") }}
{{- end }}

{{/* Subjects of the workflow bindings. */}}
{{- define "rollway.workflowSubject" -}}
- kind: ServiceAccount
  name: {{ include "rollway.workflowServiceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end }}

{{- define "rollway.executorSubject" -}}
- kind: ServiceAccount
  name: {{ include "rollway.executorServiceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end }}

{{- define "rollway.apiserverSubject" -}}
- kind: ServiceAccount
  name: {{ include "rollway.apiserver.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end }}

{{/*
The data of the ConfigMap rollway-platform (keys fixed by the WorkflowTemplates). The exit
handler reports to this release's API Service, with a token from Keycloak as the API server
reaches it.
*/}}
{{- define "rollway.platformConfigData" -}}
{{- $v := .Values }}
{{- $data := dict
  "maven-url" $v.maven.url
  "maven-snapshots-url" $v.maven.snapshotsUrl
  "registry" $v.registry.host
  "base-image" $v.baseImage
  "chart-repo" $v.chartDefaults.repo
  "git-url" $v.chartDefaults.gitServer
  "keycloak-url" (trimSuffix "/" $v.keycloak.url)
  "keycloak-realm" $v.keycloak.realm
}}
{{- with $v.registry.url }}
{{- $_ := set $data "registry-url" (trimSuffix "/" .) }}
{{- end }}
{{- if $v.callback.enabled }}
{{- $_ := set $data "callback-url" (include "rollway.apiUrl" .) }}
{{- end }}
{{- $_ := set $data "judge-url" (include "rollway.judgeUrl" .) }}
{{- $_ := set $data "judge-client-id" $v.judge.clientId }}
{{- $_ := set $data "step-image" (include "rollway.stepImage" .) }}
{{- toYaml $data }}
{{- end }}

{{/* The Pod Security labels of a target namespace: enforce, and warn/audit at the same level. */}}
{{- define "rollway.podSecurityLabels" -}}
{{- range $mode := list "enforce" "warn" "audit" }}
pod-security.kubernetes.io/{{ $mode }}: {{ $.Values.namespaces.podSecurity }}
{{- end }}
{{- end }}

{{- /* The API Service by its cluster DNS name, as pods reach it. */}}
{{- define "rollway.apiUrl" -}}
{{- printf "http://%s.%s.svc:%v" (include "rollway.part" (list . "apiserver")) .Release.Namespace .Values.service.port }}
{{- end }}

{{- /* The API as the Argo Rollouts controller reaches it: judge.url, else the DNS name. */}}
{{- define "rollway.judgeUrl" -}}
{{- trimSuffix "/" (default (include "rollway.apiUrl" .) .Values.judge.url) }}
{{- end }}

{{- /* The image of the pipeline's steps (and the judge's traffic Job). */}}
{{- define "rollway.stepImage" -}}
{{- default (include "rollway.image" .) .Values.workflowTemplates.image }}
{{- end }}
