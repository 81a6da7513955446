"""Regenerates discovery.json: what the Google Workspace connector may send, from Google's own
discovery documents as shipped in google-api-python-client 2.202.0
(googleapiclient/discovery_cache/documents/{admin.directory_v1,admin.reports_v1,cloudidentity.v1,licensing.v1}.json;
reference §9). Unpack the wheel, then run from this directory:
    GAPI=/path/to/unpacked/wheel python3 extract.py
For each method of the resources below: its id, HTTP method, path (and flat path), parameters
(location, type, required, enum, minimum/maximum, repeated, pattern), scopes and response type;
for each schema those methods use, its properties (type, $ref, item type, enum), one level deep
per schema, following $refs so every schema reached is listed.
"""
import json, os, sys

ROOT = os.environ['GAPI'] + '/googleapiclient/discovery_cache/documents/'
WANTED = {
    'admin.directory_v1': ['users', 'orgunits', 'roles', 'roleAssignments', 'privileges', 'tokens',
                           'customers', 'domains', 'groups', 'members'],
    'admin.reports_v1': ['activities', 'customerUsageReports', 'userUsageReport'],
    'cloudidentity.v1': ['policies'],
    'licensing.v1': ['licenseAssignments'],
}

def resources(doc, path=()):
    for name, res in doc.get('resources', {}).items():
        yield path + (name,), res
        yield from resources(res, path + (name,))

def param(p):
    keep = ('location', 'type', 'required', 'enum', 'minimum', 'maximum', 'repeated', 'pattern', 'format', 'default')
    return {k: p[k] for k in keep if k in p}

def prop(p):
    out = {}
    for k in ('type', '$ref', 'enum', 'format'):
        if k in p:
            out[k] = p[k]
    if 'items' in p:
        out['items'] = {k: p['items'][k] for k in ('type', '$ref', 'enum') if k in p['items']}
    if 'additionalProperties' in p:
        out['additionalProperties'] = {k: p['additionalProperties'][k] for k in ('type', '$ref') if k in p['additionalProperties']}
    return out

out = {'source': 'google-api-python-client 2.202.0 discovery_cache', 'apis': {}}
for api, wanted in WANTED.items():
    doc = json.load(open(ROOT + api + '.json'))
    methods, refs = {}, set()
    for path, res in resources(doc):
        if path[0] not in wanted:
            continue
        for mname, m in res.get('methods', {}).items():
            methods[m['id']] = {
                'httpMethod': m['httpMethod'], 'path': m['path'], 'flatPath': m.get('flatPath', m['path']),
                'parameters': {k: param(v) for k, v in m.get('parameters', {}).items()},
                'scopes': m.get('scopes', []),
                'response': m.get('response', {}).get('$ref'),
            }
            if m.get('response', {}).get('$ref'):
                refs.add(m['response']['$ref'])
    schemas, todo = {}, sorted(refs)
    while todo:
        name = todo.pop()
        if name in schemas or name not in doc['schemas']:
            continue
        s = doc['schemas'][name]
        props = {k: prop(v) for k, v in s.get('properties', {}).items()}
        schemas[name] = props
        for v in s.get('properties', {}).values():
            for r in (v.get('$ref'), v.get('items', {}).get('$ref'), v.get('additionalProperties', {}).get('$ref')):
                if r and r not in schemas:
                    todo.append(r)
            # Inline nested objects (for example Activity.actor, Activity.events[].parameters[]).
            for nested in (v, v.get('items', {})):
                if nested.get('type') == 'object' and 'properties' in nested:
                    key = name + '.' + [k for k, x in s['properties'].items() if x is v][0]
                    schemas[key] = {k: prop(x) for k, x in nested['properties'].items()}
                    for x in nested['properties'].values():
                        for r in (x.get('$ref'), x.get('items', {}).get('$ref')):
                            if r and r not in schemas:
                                todo.append(r)
                        if x.get('type') == 'array' and x.get('items', {}).get('type') == 'object':
                            sub = key + '.' + [k for k, y in nested['properties'].items() if y is x][0]
                            schemas[sub] = {k: prop(y) for k, y in x['items'].get('properties', {}).items()}
    out['apis'][api] = {'rootUrl': doc['rootUrl'], 'servicePath': doc.get('servicePath', ''),
                        'revision': doc.get('revision'), 'methods': methods, 'schemas': schemas,
                        # Parameters every method takes (quotaUser, fields, prettyPrint, ...).
                        'parameters': {k: dict(param(v), description=v.get('description', ''))
                                       for k, v in doc.get('parameters', {}).items()},
                        'scopes': sorted(doc.get('auth', {}).get('oauth2', {}).get('scopes', {}))}

with open(sys.argv[1] if len(sys.argv) > 1 else 'discovery.json', 'w') as fh:
    json.dump(out, fh, indent=1, sort_keys=True)
    fh.write('\n')
