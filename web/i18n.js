// i18n.js - the pages' words in Chinese, with English as the fallback: the
// browser's preferred languages decide (navigator.languages).  Elements
// carry data-i18n="key" (their text) or data-i18n-placeholder="key".
const words = {
  zh: {
    'station.title': '包裹面单打印站',
    'audit.title': '审计记录',
    'signin': '登录',
    'signout': '退出登录',
    'signed.in.as': '已登录：{0}',
    'depot': '网点 {0}',
    'signin.needed': '请先通过公司统一身份认证登录。',
    'signin.unconfigured': '未配置统一身份认证（oidc_issuer），无法登录。',
    'signin.failed': '登录失败：{0}',
    'session.expired': '登录已过期，请重新登录。',
    'role.wrong': '此账号的角色不能使用本页面。',
    'scan.label': '扫描运单号',
    'scan.placeholder': '扫描条码或输入运单号后按回车',
    'scan.add': '添加',
    'printer.label': '打印到',
    'printer.none': '（无可用打印机）',
    'printer.unavailable': '打印机列表不可用：{0}',
    'print.all': '全部打印',
    'print.one': '打印',
    'pdf.download': '下载 PDF（浏览器打印）',
    'list.empty': '还没有扫描的包裹。',
    'col.tn': '运单号',
    'col.status': '状态',
    'col.dest': '目的地',
    'col.preview': '面单预览（已脱敏）',
    'col.action': '操作',
    'col.result': '打印结果',
    'unknown.number': '运单号 {0} 不存在，或不属于本网点。',
    'bad.number': '“{0}”不是有效的运单号。',
    'already.scanned': '运单号 {0} 已在列表中。',
    'added': '已添加 {0}。',
    'preview.failed': '预览不可用',
    'reprint.limit': '运单号 {0} 已达到补打次数上限，不能再次打印。',
    'printer.off': '打印机 {0} 未连接或已关闭，请检查打印机后重试。',
    'print.queued': '已提交打印……',
    'print.done': '已打印（{0}）',
    'print.failed': '打印失败：{0}',
    'print.route.missing': '此服务器尚不支持打印到打印机（缺少 {0}）。',
    'route.missing': '此服务器尚不支持此功能（缺少 {0}）。',
    'pdf.ready': 'PDF 已生成：{0} 张面单。',
    'error.generic': '出错了：{0}',
    'error.network': '无法连接服务器。',
    'audit.tn.label': '运单号',
    'audit.actor.label': '操作人（可选）',
    'audit.since.label': '起始时间（可选，UTC）',
    'audit.search': '查询',
    'audit.chain': '审计链',
    'audit.chain.ok': '完整：{0} 条记录，链头 {1}',
    'audit.chain.bad': '已损坏：第 {0} 条记录校验失败',
    'audit.checkpoint': '签名检查点：{0}',
    'audit.none': '没有记录。',
    'audit.count': '共 {0} 条记录。',
    'col.seq': '序号',
    'col.time': '时间（UTC）',
    'col.actor': '操作人',
    'col.role': '角色',
    'col.act': '操作',
    'col.res': '结果',
    'col.request': '请求编号',
  },
  en: {
    'station.title': 'Parcel label station',
    'audit.title': 'Audit trail',
    'signin': 'Sign in',
    'signout': 'Sign out',
    'signed.in.as': 'Signed in as {0}',
    'depot': 'depot {0}',
    'signin.needed': 'Sign in with the company account first.',
    'signin.unconfigured': 'No sign-in is configured (oidc_issuer).',
    'signin.failed': 'Sign-in failed: {0}',
    'session.expired': 'The session has expired; sign in again.',
    'role.wrong': 'This account\'s role cannot use this page.',
    'scan.label': 'Scan a tracking number',
    'scan.placeholder': 'Scan the barcode or type the number, then Enter',
    'scan.add': 'Add',
    'printer.label': 'Print to',
    'printer.none': '(no printer)',
    'printer.unavailable': 'The printer list is unavailable: {0}',
    'print.all': 'Print all',
    'print.one': 'Print',
    'pdf.download': 'Download PDF (browser print)',
    'list.empty': 'No parcel scanned yet.',
    'col.tn': 'Tracking number',
    'col.status': 'Status',
    'col.dest': 'Destination',
    'col.preview': 'Label preview (masked)',
    'col.action': 'Action',
    'col.result': 'Print result',
    'unknown.number': 'Tracking number {0} does not exist or is not this depot\'s.',
    'bad.number': '"{0}" is not a tracking number.',
    'already.scanned': 'Tracking number {0} is already in the list.',
    'added': 'Added {0}.',
    'preview.failed': 'No preview',
    'reprint.limit': 'Tracking number {0} has reached its reprint limit and cannot be printed again.',
    'printer.off': 'Printer {0} is off or not connected; check it and try again.',
    'print.queued': 'Sent to the printer…',
    'print.done': 'Printed ({0})',
    'print.failed': 'Printing failed: {0}',
    'print.route.missing': 'This server cannot print to printers yet (no {0}).',
    'route.missing': 'This server cannot do this yet (no {0}).',
    'pdf.ready': 'PDF ready: {0} labels.',
    'error.generic': 'Something went wrong: {0}',
    'error.network': 'The server cannot be reached.',
    'audit.tn.label': 'Tracking number',
    'audit.actor.label': 'Actor (optional)',
    'audit.since.label': 'Since (optional, UTC)',
    'audit.search': 'Search',
    'audit.chain': 'Audit chain',
    'audit.chain.ok': 'intact: {0} entries, head {1}',
    'audit.chain.bad': 'broken: entry {0} fails its check',
    'audit.checkpoint': 'Signed checkpoint: {0}',
    'audit.none': 'No entries.',
    'audit.count': '{0} entries.',
    'col.seq': 'Seq',
    'col.time': 'Time (UTC)',
    'col.actor': 'Actor',
    'col.role': 'Role',
    'col.act': 'Action',
    'col.res': 'Result',
    'col.request': 'Request id',
  },
};

function pick() {
  const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
  for (const l of langs) {
    const base = String(l).toLowerCase().split('-')[0];
    if (words[base]) return base;
  }
  return 'en';
}

export const lang = pick();

// t(key, ...args): the word in the page's language ({0}, {1}... replaced),
// the English one when that language lacks it, the key when both do.
export function t(key, ...args) {
  const s = words[lang][key] ?? words.en[key] ?? key;
  return s.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ''));
}

export function translate(root = document) {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
}
