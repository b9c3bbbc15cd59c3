{{/*
Chart name. Truncated to 63 characters because Kubernetes label values and DNS-1123 names
may not be longer.
*/}}
{{- define "outpost-agent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name, used as the prefix of every object. Truncated to 63 characters (DNS-1123 label limit);
the release name alone is used when it already contains the chart name, to avoid
"outpost-agent-outpost-agent".
*/}}
{{- define "outpost-agent.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Name of the ClusterRole granted inside each tenant namespace. The full name is cut to 56
characters first so that the "-tenant" suffix always survives the 63-character limit.
*/}}
{{- define "outpost-agent.tenantRoleName" -}}
{{- printf "%s-tenant" (include "outpost-agent.fullname" . | trunc 56 | trimSuffix "-") }}
{{- end }}

{{/*
Chart label value: name-version, with "+" (not allowed in label values) replaced.
*/}}
{{- define "outpost-agent.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every object.
*/}}
{{- define "outpost-agent.labels" -}}
helm.sh/chart: {{ include "outpost-agent.chart" . }}
{{ include "outpost-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: agent
app.kubernetes.io/part-of: outpost
{{- end }}

{{/*
Selector labels: only name and instance, because a Deployment's selector is immutable and must
not change when the chart or app version does.
*/}}
{{- define "outpost-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "outpost-agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Name of the ServiceAccount the agent runs as.
*/}}
{{- define "outpost-agent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "outpost-agent.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false: name an existing ServiceAccount in the release namespace" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The Kubernetes username of the agent's ServiceAccount (what RBAC and admission policies see).
*/}}
{{- define "outpost-agent.serviceAccountUser" -}}
{{- printf "system:serviceaccount:%s:%s" .Release.Namespace (include "outpost-agent.serviceAccountName" .) }}
{{- end }}

{{/*
Agent image reference: registry/repository:tag@digest. global.imageRegistry (an air-gapped
mirror) replaces image.registry; the tag defaults to the chart's appVersion; a digest, when
given, pins the exact image whatever the tag says.
*/}}
{{- define "outpost-agent.image" -}}
{{- $registry := .Values.global.imageRegistry | default .Values.image.registry | trimSuffix "/" }}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString }}
{{- if eq $tag "latest" }}
{{- fail "image.tag must not be \"latest\": pin a version (and preferably image.digest)" }}
{{- end }}
{{- $ref := printf "%s:%s" .Values.image.repository $tag }}
{{- if $registry }}
{{- $ref = printf "%s/%s" $registry $ref }}
{{- end }}
{{- if .Values.image.digest }}
{{- $ref = printf "%s@%s" $ref .Values.image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{/*
Checks of value combinations the schema cannot express; fails with what to change.
*/}}
{{- define "outpost-agent.validate" -}}
{{- if and (not .Values.rbac.admissionPolicy.enabled) (not .Values.rbac.unsafeWithoutPolicy) }}
{{- fail "rbac.admissionPolicy.enabled=false removes the limits RBAC cannot express: the agent could then bind roles in any namespace (kube-system included) and label its namespaces privileged. Keep the policies, or set rbac.unsafeWithoutPolicy=true to accept that" }}
{{- end }}
{{- if .Values.hub.enabled }}
{{- if not .Values.hub.url }}
{{- fail "hub.enabled=true needs hub.url (https://…): where the agent reports status" }}
{{- end }}
{{- if not .Values.hub.keys }}
{{- fail "hub.enabled=true needs hub.keys: the hub's public keys (base64 Ed25519) that sign its acknowledgements" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Prefix of the admission policy names; cut so that the longest suffix still fits 63 characters.
*/}}
{{- define "outpost-agent.policyPrefix" -}}
{{- include "outpost-agent.fullname" . | trunc 50 | trimSuffix "-" }}
{{- end }}

{{/*
Namespace names the agent may never create or take, as JSON {"exact": [...], "prefixes": [...]}:
the built-in kube-* and default, the release namespace, and rbac.admissionPolicy.reservedNamespaces
(an entry ending in `*` is a prefix).
*/}}
{{- define "outpost-agent.reservedNamespaces" -}}
{{- $exact := list "default" .Release.Namespace }}
{{- $prefixes := list "kube-" }}
{{- range .Values.rbac.admissionPolicy.reservedNamespaces }}
{{- if hasSuffix "*" . }}
{{- $prefixes = append $prefixes (trimSuffix "*" .) }}
{{- else }}
{{- $exact = append $exact . }}
{{- end }}
{{- end }}
{{- dict "exact" ($exact | uniq) "prefixes" ($prefixes | uniq) | toJson }}
{{- end }}

{{/*
Where the agent's NetworkPolicy lets it reach the API server, as JSON {"cidrs": [...], "ports": [...]}:
networkPolicy.apiServer.cidrs when given; otherwise the cluster IPs of the `kubernetes` Service and
the addresses (and ports) of its EndpointSlices in `default`, looked up at install time (or the
Endpoints object when no slice is found). Offline (`helm template`) the lookups find nothing.
*/}}
{{- define "outpost-agent.apiServer" -}}
{{- $cidrs := list }}
{{- $ports := list }}
{{- range .Values.networkPolicy.apiServer.ports }}
{{- $ports = append $ports (int .) }}
{{- end }}
{{- if .Values.networkPolicy.apiServer.cidrs }}
{{- $cidrs = .Values.networkPolicy.apiServer.cidrs }}
{{- else }}
{{- $addresses := list }}
{{- $service := lookup "v1" "Service" "default" "kubernetes" }}
{{- with $service }}
{{- $addresses = concat $addresses (.spec.clusterIPs | default (list .spec.clusterIP)) }}
{{- end }}
{{- $found := false }}
{{- $slices := lookup "discovery.k8s.io/v1" "EndpointSlice" "default" "" }}
{{- range ($slices.items | default list) }}
{{- if eq (get (.metadata.labels | default dict) "kubernetes.io/service-name") "kubernetes" }}
{{- $found = true }}
{{- range (.endpoints | default list) }}
{{- $addresses = concat $addresses (.addresses | default list) }}
{{- end }}
{{- range (.ports | default list) }}
{{- $ports = append $ports (int .port) }}
{{- end }}
{{- end }}
{{- end }}
{{- if not $found }}
{{- $endpoints := lookup "v1" "Endpoints" "default" "kubernetes" }}
{{- range (($endpoints | default dict).subsets | default list) }}
{{- range (.addresses | default list) }}
{{- $addresses = append $addresses .ip }}
{{- end }}
{{- range (.ports | default list) }}
{{- $ports = append $ports (int .port) }}
{{- end }}
{{- end }}
{{- end }}
{{- range $addresses }}
{{- if and . (ne . "None") }}
{{- $cidrs = append $cidrs (printf "%s/%s" . (ternary "128" "32" (contains ":" .))) }}
{{- end }}
{{- end }}
{{- end }}
{{- dict "cidrs" ($cidrs | uniq) "ports" ($ports | uniq) | toJson }}
{{- end }}
