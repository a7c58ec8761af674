# Independent double-precision forward of tiny-qwen3 (pure Python, no dependencies) for the
# first 3 positions of reference sequence 0. It agrees with qmix to ~1e-5 and differs from the
# transformers logits by up to ~1e-3 from position 1 on (position 0, which does not depend on
# q/k, agrees to 5e-6): the basis of the tolerance in engine_reference_test.cpp.
import struct, json, math
f=open('/work/shared/gguf/tiny-qwen3.bf16.gguf','rb').read()
o=0
def u32():
    global o; v=struct.unpack_from('<I',f,o)[0]; o+=4; return v
def u64():
    global o; v=struct.unpack_from('<Q',f,o)[0]; o+=8; return v
def s():
    global o; n=u64(); v=f[o:o+n]; o+=n; return v.decode('utf8','replace')
sz={0:1,1:1,2:2,3:2,4:4,5:4,6:4,7:1,10:8,11:8,12:8}
def val(t):
    global o
    if t==8: return s()
    if t==9:
        et=u32(); n=u64()
        if et==8: [s() for _ in range(n)]; return None
        o+=sz[et]*n; return None
    fmt={0:'B',1:'b',2:'H',3:'h',4:'I',5:'i',6:'f',7:'?',10:'Q',11:'q',12:'d'}[t]
    v=struct.unpack_from('<'+fmt,f,o)[0]; o+=sz[t]; return v
u32();u32();nt=u64();nk=u64()
kv={}
for _ in range(nk):
    k=s(); t=u32(); kv[k]=val(t)
ts={}
for _ in range(nt):
    n=s(); nd=u32(); dims=[u64() for _ in range(nd)]; t=u32(); off=u64(); ts[n]=(dims,t,off)
data=(o+31)//32*32
def tensor(name):
    dims,t,off=ts[name]; n=1
    for d in dims: n*=d
    b=f[data+off:data+off+n*(2 if t==30 else 4)]
    if t==30: vals=[struct.unpack('<f',b'\0\0'+b[2*i:2*i+2])[0] for i in range(n)]
    else: vals=list(struct.unpack('<%df'%n,b))
    if len(dims)==1: return vals
    return [vals[r*dims[0]:(r+1)*dims[0]] for r in range(dims[1])]
E=256;H=4;KV=2;hd=64;eps=1e-6;NL=4
meta=json.load(open('/work/shared/models/tiny-qwen3/reference/logits.json'))
ids=meta['ids'][0][:3]
emb=tensor('token_embd.weight')
def rms(x,w): 
    sc=1/math.sqrt(sum(v*v for v in x)/len(x)+eps); return [v*sc*wi for v,wi in zip(x,w)]
def mv(W,x): return [sum(a*b for a,b in zip(row,x)) for row in W]
def rope(v,pos):
    out=v[:]; half=hd//2
    for i in range(half):
        a=pos*10000**(-2*i/hd); c=math.cos(a); sn=math.sin(a)
        out[i]=v[i]*c-v[i+half]*sn; out[i+half]=v[i]*sn+v[i+half]*c
    return out
x=[emb[t][:] for t in ids]
for l in range(NL):
    p='blk.%d.'%l
    an=tensor(p+'attn_norm.weight'); Wq=tensor(p+'attn_q.weight'); Wk=tensor(p+'attn_k.weight'); Wv=tensor(p+'attn_v.weight'); Wo=tensor(p+'attn_output.weight')
    qn=tensor(p+'attn_q_norm.weight'); kn=tensor(p+'attn_k_norm.weight')
    Q=[];K=[];V=[]
    for t in range(len(ids)):
        xn=rms(x[t],an); q=mv(Wq,xn); k=mv(Wk,xn); v=mv(Wv,xn)
        q=sum([rope(rms(q[h*hd:(h+1)*hd],qn),t) for h in range(H)],[])
        k=sum([rope(rms(k[h*hd:(h+1)*hd],kn),t) for h in range(KV)],[])
        Q.append(q);K.append(k);V.append(v)
    for t in range(len(ids)):
        out=[]
        for h in range(H):
            kh=h//(H//KV)
            sc=[sum(a*b for a,b in zip(Q[t][h*hd:(h+1)*hd],K[u][kh*hd:(kh+1)*hd]))/8.0 for u in range(t+1)]
            m=max(sc); e=[math.exp(z-m) for z in sc]; z=sum(e)
            out+= [sum(e[u]/z*V[u][kh*hd+i] for u in range(t+1)) for i in range(hd)]
        o_=mv(Wo,out); x[t]=[a+b for a,b in zip(x[t],o_)]
    fn=tensor(p+'ffn_norm.weight'); Wg=tensor(p+'ffn_gate.weight'); Wu=tensor(p+'ffn_up.weight'); Wd=tensor(p+'ffn_down.weight')
    for t in range(len(ids)):
        xn=rms(x[t],fn); g=mv(Wg,xn); u=mv(Wu,xn); hh=[gi/(1+math.exp(-gi))*ui for gi,ui in zip(g,u)]
        d=mv(Wd,hh); x[t]=[a+b for a,b in zip(x[t],d)]
on=tensor('output_norm.weight')
ref=open('/work/shared/models/tiny-qwen3/reference/logits.f32','rb').read()
for t in range(len(ids)):
    xn=rms(x[t],on); lg=[sum(a*b for a,b in zip(emb[v],xn)) for v in range(0,4096,64)]
    r=[struct.unpack_from('<f',ref,4*(t*4096+v))[0] for v in range(0,4096,64)]
    print(t, 'maxdiff python-vs-hf', max(abs(a-b) for a,b in zip(lg,r)), 'py0',lg[0],'hf0',r[0])
