"""Regenerates fields.json and metadata-types.txt from Salesforce-published type definitions.

Inputs (unpacked npm tarballs): @salesforce/types 1.7.1 (API 66.0: lib/tooling.d.ts, lib/metadata.d.ts)
and @jsforce/jsforce-node (lib/types/standard-schema.d.ts), under $SFTYPES (the directory
the first tarball was unpacked in, with the jsforce tarball unpacked in $SFTYPES/js). Run from this directory:
    python3 extract.py
"""
import os, re, json, sys
ROOT = os.environ['SFTYPES']
T = open(ROOT + '/package/lib/tooling.d.ts').read()
J = open(ROOT + '/js/package/lib/types/standard-schema.d.ts').read()

# Tooling: every `export type X = ... sObject & {` block.
tooling_types = {}
for m in re.finditer(r'^export type (\w+) = ([^{=\n]*)\{\n(.*?)^\};', T, re.M | re.S):
    name, pre, body = m.group(1), m.group(2), m.group(3)
    if 'sObject' not in pre:
        continue
    fields = []
    for fm in re.finditer(r'^\s+(\w+)\??: ([^;]+);', body, re.M):
        fields.append((fm.group(1), fm.group(2).strip()))
    tooling_types[name] = fields

def tooling_schema(obj):
    f, p, c, b = ['Id'], {}, [], []
    for name, ty in tooling_types[obj]:
        if not name[0].isupper():
            continue  # lowercase: the Metadata side of a Metadata & sObject type
        if name == 'Metadata':
            f.append(name)  # a complexvalue column, whatever type it declares
        elif ty == 'QueryResult':
            c.append(name)
        elif ty == 'sObject':
            p[name] = '*'
        elif ty in tooling_types:
            p[name] = ty
        else:
            f.append(name)
            if ty == 'boolean':
                b.append(name)
    return {'fields': f, 'parents': p, 'children': c, 'booleans': b}

def js_schema(obj):
    m = re.search(r'^type Fields\$%s = \{\n(.*?)^\};' % obj, J, re.M | re.S)
    if not m:
        return None
    f = [x.group(1) for x in re.finditer(r'^\s+(\w+): ', m.group(1), re.M)]
    b = [x.group(1) for x in re.finditer(r'^\s+(\w+): boolean;', m.group(1), re.M)]
    p = {}
    m2 = re.search(r'^type ParentReferences\$%s = \{\n(.*?)^\};' % obj, J, re.M | re.S)
    if m2:
        for x in re.finditer(r'^\s+(\w+): ([^;]+);', m2.group(1), re.M):
            targets = re.findall(r'SObjectDefinition\$(\w+)', x.group(2))
            t = targets[0] if len(targets) == 1 and targets[0] != 'Name' else '*'
            p[x.group(1)] = t
    c = []
    m3 = re.search(r'^type ChildRelationships\$%s = \{\n(.*?)^\};' % obj, J, re.M | re.S)
    if m3:
        c = [x.group(1) for x in re.finditer(r'^\s+(\w+): ', m3.group(1), re.M)]
    return {'fields': f, 'parents': p, 'children': c, 'booleans': b}

def union(a, b):
    if a is None: return b
    if b is None: return a
    f = list(dict.fromkeys(a['fields'] + b['fields']))
    p = dict(b['parents']); p.update(a['parents'])
    c = list(dict.fromkeys(a['children'] + b['children']))
    bo = list(dict.fromkeys(a['booleans'] + b['booleans']))
    return {'fields': f, 'parents': p, 'children': c, 'booleans': bo}

DATA = ['Organization','Lead','Account','Contact','Case','Opportunity','Product2','FieldPermissions','PermissionSetGroup','BotDefinition','BotVersion','ApexClass','Site','MessagingChannel','User','Profile',
        'PermissionSet','PermissionSetAssignment','ObjectPermissions','CspTrustedSite','ConnectedApplication',
        'OauthToken','SetupEntityAccess','GenAiFunctionDefinition','GenAiPluginDefinition','SiteDetail']
TOOLING = ['GenAiPlannerDefinition','GenAiPluginDefinition','GenAiPlannerFunctionDef','GenAiPluginFunctionDef',
           'GenAiFunctionDefinition','GenAiPromptTemplate','GenAiPromptTemplateVersion','GenAiPromptTemplateDataProvider',
           'NetworkBotDefinition','EmbeddedServiceConfig','EmbeddedServiceMessagingChannel','BotDefinition','BotVersion',
           'MessagingChannel','SiteDetail','ApexClass','CspTrustedSite','PermissionSet','PermissionSetAssignment','User',
           'Profile','ConnectedApplication','Organization','FlowDefinition','Flow','AiAgent','AiPlannerRelatedAgent',
           'McpServerDefinition','McpServerToolDefinition','McpServerAccess']
out = {'data': {}, 'tooling': {}, 'source': {}}
for o in DATA:
    t = tooling_schema(o) if o in tooling_types else None
    if t:
        # Metadata, FullName and SymbolTable are Tooling-only (complexvalue) columns.
        tooling_only = ('Metadata', 'FullName', 'SymbolTable')
        t = {'fields': [x for x in t['fields'] if x not in tooling_only],
             'parents': {k: v for k, v in t['parents'].items() if k not in tooling_only},
             'children': t['children'], 'booleans': t['booleans']}
    j = js_schema(o)
    s = union(j, t)
    if s is None:
        print('no schema for data', o, file=sys.stderr); continue
    out['data'][o] = s
    out['source'][o] = ('js' if j else '') + ('+' if j and t else '') + ('T66' if t else '')
for o in TOOLING:
    if o not in tooling_types:
        print('no tooling schema for', o, file=sys.stderr); continue
    out['tooling'][o] = tooling_schema(o)
# Network (Experience Cloud site) is a data sObject [C, reference §2.2] that neither package
# declares; these columns are the reference's, written by hand.
out['data']['Network'] = {'fields': ['Id', 'Name', 'Description', 'Status', 'UrlPathPrefix', 'CreatedDate',
    'CreatedById', 'LastModifiedDate', 'LastModifiedById', 'SystemModstamp'],
    'parents': {'CreatedBy': 'User', 'LastModifiedBy': 'User'}, 'children': [], 'booleans': []}
out['source']['Network'] = 'reference §2.2 (hand-written)'
# Every `Permissions<Name>` column is a boolean (checked when this was written); the Rust side
# knows that, so the lists leave them out and the extract stays half the size.
for api in ('data', 'tooling'):
    for s in out[api].values():
        s['booleans'] = [b for b in s['booleans'] if not re.match(r'Permissions[A-Z]', b)]
# One object per line, so a regenerated extract diffs readably.
with open(sys.argv[1] if len(sys.argv) > 1 else 'fields.json', 'w') as fh:
    fh.write('{\n')
    entries = []
    for api in ('data', 'tooling'):
        for o in sorted(out[api]):
            entries.append('"%s:%s":%s' % (api, o, json.dumps(out[api][o], separators=(',', ':'), sort_keys=True)))
    fh.write(',\n'.join(entries))
    fh.write('\n}\n')

# Metadata API type names (M66): readMetadata/listMetadata of any other name is INVALID_TYPE.
M = open(ROOT + '/package/lib/metadata.d.ts').read()
names = sorted(set(re.findall(r'^export type (\w+) = (?:Metadata|MetadataWithContent) & ', M, re.M)))
with open('metadata-types.txt', 'w') as fh:
    fh.write('\n'.join(names) + '\n')
