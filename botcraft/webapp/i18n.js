// Words of the interface in Russian (the default) and English, and how numbers and dates read.

const LANG_KEY = 'botcraft.lang';

const ru = {
  skip: 'Перейти к содержимому',
  loading: 'Загрузка…',
  back: 'Назад',
  switch_lang: 'Switch to English',
  retry: 'Повторить',
  save: 'Сохранить',
  saved: 'Сохранено',
  cancel: 'Отмена',
  delete: 'Удалить',
  close: 'Закрыть',
  copy: 'Копировать',
  copied: 'Скопировано',
  more: 'Показать ещё',
  refresh: 'Обновить',
  optional: 'необязательно',

  // sign-in
  app_tagline: 'ИИ-ассистент для вашего бизнеса в Telegram, WhatsApp и Instagram',
  sign_in: 'Вход',
  sign_up: 'Регистрация',
  email: 'E-mail',
  password: 'Пароль',
  password_hint: 'Не меньше 8 символов',
  do_sign_in: 'Войти',
  do_sign_up: 'Создать аккаунт',
  tg_signing_in: 'Входим через Telegram…',
  tg_failed: 'Не удалось войти через Telegram: {detail}',
  tg_retry: 'Войти через Telegram ещё раз',
  or_email: 'Или войдите по e-mail',
  session_over: 'Сессия истекла — войдите снова.',
  signed_out: 'Вы вышли из аккаунта.',
  sign_out: 'Выйти',
  signed_in_as: 'Вы вошли как {name}',
  v_email: 'Введите e-mail, например name@example.ru.',
  v_password: 'Пароль должен быть не короче 8 символов.',
  v_password_empty: 'Введите пароль.',
  v_name: 'Дайте ассистенту название.',
  v_required: 'обязательное поле',

  // agents
  agents: 'Ассистенты',
  agents_title: 'Ваши ассистенты',
  agents_count: '{n} из {max}',
  agents_count_label: 'Создано {n} из {max} возможных',
  agent_new: 'Новый ассистент',
  agents_empty_title: 'Пока нет ни одного ассистента',
  agents_empty: 'Опишите бизнес, загрузите прайс и FAQ — ассистент начнёт отвечать клиентам с указанием источника.',
  agents_limit: 'Достигнут лимит: {max} ассистентов. Удалите ненужного, чтобы создать нового.',
  no_description: 'Без описания',
  channels_none: 'Каналы не подключены',
  create_agent: 'Создать ассистента',
  agent_created: 'Ассистент создан. Теперь добавьте документы.',
  f_name: 'Название',
  f_name_ph: 'Например: Пекарня «Колосок»',
  f_description: 'Описание бизнеса',
  f_description_ph: 'Чем вы занимаетесь, где находитесь, часы работы',
  f_capabilities: 'Что умеет ассистент',
  f_capabilities_ph: 'Отвечать о ценах, наличии, доставке; записывать на приём',
  f_synonyms: 'Свои синонимы',
  f_synonyms_ph: 'барбер, мужской зал\nпарковка, стоянка',
  f_synonyms_hint: 'По группе на строку, слова через запятую: ассистент поймёт вопрос, заданный любым из них.',
  f_tone: 'Тон общения',
  f_tone_ph: 'дружелюбный, на «вы»',
  tones: 'дружелюбный|деловой|официальный|весёлый|заботливый',
  advanced: 'Дополнительно: язык и модель',
  f_language: 'Язык ответов',
  lang_ru: 'Русский',
  lang_en: 'Английский',
  f_model: 'Модель',
  f_model_hint: 'Пусто — модель сервера. Без модели ассистент отвечает фрагментами из документов.',
  f_base_url: 'Адрес OpenAI-совместимого API',
  f_api_key: 'Ключ API',
  f_temperature: 'Температура (0–2)',
  secret_saved: 'Сохранён. Оставьте поле пустым, чтобы не менять.',
  prompt: 'Системный промпт',
  prompt_hint: 'Инструкция для модели. Создаётся из описания; можно править вручную.',
  prompt_regen: 'Сгенерировать заново',
  prompt_regen_done: 'Промпт создан заново из описания',
  danger_zone: 'Удаление',
  agent_delete: 'Удалить ассистента',
  agent_delete_confirm: 'Удалить ассистента «{name}» вместе с документами и диалогами? Это нельзя отменить.',
  agent_deleted: 'Ассистент удалён',

  // tabs
  tab_settings: 'Настройки',
  tab_knowledge: 'Знания',
  tab_channels: 'Каналы',
  tab_chat: 'Тест',
  tab_inbox: 'Диалоги',
  agent_sections: 'Разделы ассистента',

  // knowledge
  kb_title: 'База знаний',
  kb_intro: 'Прайс-листы, каталоги, меню, FAQ. Ассистент отвечает только по ним.',
  kb_pick: 'Выбрать файлы',
  kb_drop: 'или перетащите сюда',
  kb_formats: 'PDF, DOCX, XLSX, JPG, PNG',
  kb_files: 'Файлы для загрузки',
  kb_empty: 'Документов пока нет. Загрузите первый файл.',
  kb_uploading: 'Загрузка {p}%',
  kb_duplicate: 'этот файл уже загружен раньше — новая копия не добавлена',
  st_queued: 'В очереди',
  st_processing: 'Обработка…',
  st_ready: 'Готов',
  st_failed: 'Ошибка',
  kb_chunks_other: '{n} фрагм.',
  kb_pages_other: '{n} стр.',
  kb_embedding: 'поиск по смыслу: {a} из {b}',
  kb_embedded: 'поиск по смыслу готов',
  kb_embedding_failed: 'Поиск по смыслу не подготовлен; по словам документ находится.',
  kb_found_words: 'по словам',
  kb_found_meaning: 'по смыслу',
  kb_found_words_meaning: 'по словам и смыслу',
  kb_meaning_local: 'Поиск по словам и по смыслу: встроенная модель {m}.',
  kb_meaning_server: 'Поиск по словам и по смыслу: сервер эмбеддингов, модель {m}.',
  kb_meaning_off: 'Поиск только по словам: поиск по смыслу выключен (EMBEDDINGS=off).',
  kb_reprocess: 'Обработать заново',
  kb_delete_confirm: 'Удалить «{name}» из базы знаний?',
  kb_deleted: 'Документ удалён',
  kb_search: 'Проверка поиска',
  kb_search_hint: 'Что найдёт ассистент по вопросу клиента',
  kb_search_ph: 'Например: сколько стоит доставка',
  kb_search_btn: 'Найти',
  kb_no_results: 'Ничего не нашлось. Ассистент передаст такой вопрос вам.',
  documents: 'Документы',

  // sources
  src_sheet: 'лист «{s}»',
  src_row: 'строка {a}',
  src_rows: 'строки {a}–{b}',
  src_page: 'стр. {p}',
  sources: 'Источники',

  // channels
  ch_title: 'Каналы',
  ch_intro: 'Подключите мессенджеры — ассистент будет отвечать клиентам там.',
  ch_telegram: 'Telegram',
  ch_whatsapp: 'WhatsApp',
  ch_instagram: 'Instagram',
  ch_playground: 'Тест',
  ch_connected: 'Подключён',
  ch_not_connected: 'Не подключён',
  ch_running: 'Работает',
  ch_stopped: 'Остановлен',
  ch_starting: 'Запускается…',
  ch_mode_webhook: 'вебхук',
  ch_mode_polling: 'long polling',
  ch_last_event: 'Последнее событие: {when}',
  ch_no_events: 'Событий ещё не было',
  ch_last_error: 'Последняя ошибка: {error}',
  ch_start: 'Запустить',
  ch_stop: 'Остановить',
  ch_started: 'Канал запущен',
  ch_stopped_toast: 'Канал остановлен',
  ch_disconnect: 'Отключить',
  ch_disconnect_confirm: 'Отключить {channel} от ассистента? Сохранённый ключ будет удалён.',
  ch_disconnected: 'Канал отключён',
  ch_saved: 'Настройки канала сохранены',
  ch_status_unavailable: 'Статус недоступен: {detail}',
  ch_setup_unavailable: 'Адреса вебхуков недоступны: {detail}',
  tg_token: 'Токен бота',
  tg_token_hint: 'Выдаёт @BotFather: 123456789:AA…',
  tg_webhook: 'Получать сообщения через вебхук (нужен публичный адрес сервера)',
  tg_webhook_url: 'Адрес вебхука',
  wa_token: 'Постоянный токен доступа',
  wa_phone: 'ID номера телефона (Phone number ID)',
  ig_token: 'Токен доступа',
  ig_account: 'ID бизнес-аккаунта Instagram',
  ig_page: 'ID страницы Facebook',
  meta_setup: 'Для панели Meta (Webhooks)',
  meta_url: 'Callback URL',
  meta_verify: 'Verify token',
  meta_no_url: 'пока нет: серверу нужен публичный https-адрес, на который платформа будет присылать сообщения. Его задаёт администратор сервера в настройке PUBLIC_BASE_URL (например, https://bot.example.ru)',
  meta_no_verify: 'Не задан verify token на сервере',
  nothing_changed: 'Нечего сохранять: поля не изменены',
  bot_username: 'Бот: @{u}',

  // chat
  chat_title: 'Тестовый чат',
  chat_intro: 'Задайте вопрос, как клиент. Ответ придёт так же, как в мессенджере.',
  chat_ph: 'Ваш вопрос…',
  chat_send: 'Отправить',
  chat_new: 'Новый диалог',
  chat_offline: 'офлайн-ответ из документов',
  chat_greeting: 'приветствие',
  chat_attention: 'Ассистент передал вопрос вам',
  you: 'Вы',

  // inbox
  inbox_title: 'Диалоги',
  inbox_empty: 'Диалогов пока нет. Они появятся, когда клиенты напишут в подключённые каналы.',
  inbox_pick: 'Выберите диалог слева',
  attention: 'Нужно внимание',
  mode_human: 'Ведёте вы',
  mode_bot: 'Отвечает бот',
  blocked: 'Клиент заблокировал бота',
  customer: 'Клиент',
  author_customer: 'Клиент',
  author_bot: 'Бот',
  author_owner: 'Вы',
  take_over: 'Взять диалог на себя',
  hand_back: 'Вернуть боту',
  taken_over: 'Теперь отвечаете вы. Бот молчит в этом диалоге.',
  handed_back: 'Диалог снова ведёт бот',
  reply_ph: 'Ответ клиенту…',
  reply_send: 'Отправить ответ',
  reply_bot_mode: 'Бот тоже отвечает в этом диалоге. Возьмите диалог на себя, чтобы отвечать только самим.',
  transcript: 'Переписка',
  no_messages: 'Сообщений нет',
  s_received: 'получено',
  s_pending: 'ждёт ответа',
  s_queued: 'в очереди',
  s_sending: 'отправляется',
  s_sent: 'отправлено',
  s_delivered: 'доставлено',
  s_read: 'прочитано',
  s_failed: 'не доставлено',
  today: 'сегодня',
  yesterday: 'вчера',

  // the owner's loop: answers, unanswered questions, statistics, notifications
  tab_answers: 'Ответы',
  tab_stats: 'Статистика',
  test_chat: 'Тестовый чат',
  filter_all: 'Все',
  filter_attention: 'Нужно внимание',
  inbox_attention_empty: 'Сейчас никто не ждёт вашего ответа.',
  last_by_customer: 'ждёт ответа',
  last_by_bot: 'ответил бот',
  last_by_owner: 'ответили вы',
  remember: 'Запомнить ответ',
  remembered: 'Запомнил: бот будет отвечать так сам.',
  notify_title: 'Уведомления',
  notify_tg_linked: 'Приходят в Telegram{user}.',
  notify_email: 'Приходят на e-mail {email}.',
  notify_none: 'Некуда присылать: подключите Telegram.',
  notify_link: 'Подключить Telegram',
  notify_link_hint: 'Откроется бот BotCraft: нажмите «Запустить», и уведомления о клиентах, которым нужен ваш ответ, будут приходить туда.',
  notify_on: 'Сообщать о клиентах этого ассистента',
  notify_saved_on: 'Уведомления включены',
  notify_saved_off: 'Уведомления выключены',
  answers_title: 'Ответы владельца',
  answers_intro: 'Бот отвечает на такие вопросы вашими словами, дословно. Можно указать несколько формулировок вопроса — по одной в строке.',
  answers_empty: 'Пока нет сохранённых ответов. Ответьте на вопрос клиента и нажмите «Запомнить ответ».',
  answer_new: 'Новый ответ',
  f_questions: 'Вопрос (каждая формулировка с новой строки)',
  f_questions_ph: 'Есть ли у вас парковка?\nГде оставить машину?',
  f_answer: 'Ответ',
  f_answer_ph: 'Да, бесплатная парковка во дворе.',
  answer_saved: 'Ответ сохранён',
  answer_deleted: 'Ответ удалён',
  answer_delete_q: 'Удалить этот ответ?',
  edit: 'Изменить',
  unanswered_title: 'Вопросы без ответа',
  unanswered_intro: 'Вопросы, которые бот передал вам. Одинаковые вопросы другими словами собраны вместе.',
  unanswered_empty: 'Бот справился со всеми вопросами за последние 30 дней.',
  asked_times: 'Спрашивали {n} раз · последний раз {when}',
  answered_since: 'Ответ сохранён',
  waiting_n: 'Ждут ответа: {n}',
  answer_it: 'Ответить',
  send_waiting: 'Отправить ожидающим ({n})',
  sent_waiting: 'Отправлено клиентам: {n}',
  stats_title: 'Статистика',
  stats_days: '{n} дней',
  stats_conversations: 'Диалогов',
  stats_messages: 'Сообщений клиентов',
  stats_bot: 'Ответил бот',
  stats_handed: 'Передано вам',
  stats_owner: 'Ответили вы',
  stats_median: 'Ваш ответ в среднем (медиана)',
  stats_none: '—',
  stats_chart: 'Сообщения клиентов по дням',
  stats_by_channel: 'По каналам',
  stats_top: 'Частые вопросы',
  stats_empty: 'За этот период клиенты не писали.',
  dur_s: '{n} с',
  dur_m: '{n} мин',
  dur_h: '{n} ч',

  // errors in words for the codes the API uses
  e_network: 'Нет связи с сервером. Проверьте подключение и повторите.',
  e_wrong_credentials: 'Неверный e-mail или пароль. Впервые здесь? Сначала зарегистрируйтесь.',
  e_email_taken: 'Аккаунт с таким e-mail уже есть — войдите.',
  e_rate_limited: 'Слишком много попыток. Повторите через {s} с.',
  e_agent_limit_reached: 'Достигнут лимит ассистентов. Удалите ненужного, чтобы создать нового.',
  e_unsupported_format: 'Файл «{file}» не поддерживается. Подходят PDF, DOCX, XLSX, JPG и PNG.',
  e_file_too_large: 'Файл «{file}» слишком большой.',
  e_empty_file: 'Файл «{file}» пустой.',
  e_document_limit_reached: 'Достигнут лимит документов у этого ассистента.',
  e_session: 'Сессия истекла — войдите снова.',
  e_telegram_not_configured: 'Вход через Telegram не настроен на сервере (TELEGRAM_TOKEN).',
  e_manual_mode: 'Этот диалог ведёте вы. Верните его боту, чтобы проверить ответы.',
  e_internal_error: 'Ошибка на сервере. Попробуйте ещё раз.',
  e_not_found: 'Не найдено.',
  e_agent_not_found: 'Ассистент не найден — возможно, его удалили.',
  e_conversation_not_found: 'Диалог не найден.',
  e_document_not_found: 'Документ не найден — возможно, его удалили.',
  e_telegram_already_linked: 'Этот аккаунт Telegram уже привязан к другому пользователю.',
  e_account_disabled: 'Аккаунт отключён.',
  e_server: 'Сервер ответил ошибкой {status}.',
  e_validation: 'Проверьте: {detail}',
  e_channel_setup_failed: 'Не удалось подключить канал. {detail}',
  e_channels_missing: 'Управление каналами пока недоступно на этом сервере ({detail})',
};

const dicts = { ru };
let current = 'ru';
try {
  const saved = window.localStorage.getItem(LANG_KEY);
  if (saved === 'en' || saved === 'ru') current = saved;
} catch { /* storage may be off */ }

export const lang = () => current;

// English is fetched only by those who choose it: Russian is the default.
async function load(value) {
  if (!dicts[value]) dicts[value] = (await import(`./i18n-${value}.js`)).default;
}

/** Resolves when the remembered language's words are loaded. */
export const ready = load(current).catch(() => { current = 'ru'; });

export async function setLang(value) {
  const next = value === 'en' ? 'en' : 'ru';
  await load(next);
  current = next;
  try { window.localStorage.setItem(LANG_KEY, current); } catch { /* ignore */ }
  document.documentElement.lang = current;
}

export function t(key, vars) {
  const text = dicts[current]?.[key] ?? ru[key] ?? key;
  return vars ? text.replace(/\{(\w+)\}/g, (m, k) => (vars[k] ?? m)) : text;
}

/** A count in words: looks up `key_one`, `key_few`, … by the language's plural rules. */
export function tn(key, n) {
  const form = new Intl.PluralRules(current).select(n);
  const dict = dicts[current] || ru;
  const k = [`${key}_${form}`, `${key}_other`, key].find((x) => x in dict || x in ru);
  return t(k, { n });
}

/**
 * The words to show for a failed request: our translation of a known code, else the
 * server's own `detail`, else the status. Never empty.
 */
export function errorText(err, vars = {}) {
  if (!err) return t('e_internal_error');
  if (err.name === 'AbortError') return '';
  if (!err.status) return t('e_network');
  const detail = err.detail || t('e_server', { status: err.status });
  const all = { detail, status: err.status, ...vars };
  const code = err.code;
  if (code === 'rate_limited') return t('e_rate_limited', { s: err.retryAfter || 60 });
  if (['session_expired', 'session_revoked', 'invalid_token', 'session_not_found', 'not_authenticated'].includes(code)) {
    return t('e_session');
  }
  const own = dicts[current]?.[`e_${code}`];
  if (own) return t(`e_${code}`, all);
  if (code === 'validation_error' && err.errors?.length) {
    // "field: message" with the field's label from the form, in place of "telegram.token".
    const labels = vars.labels || {};
    const parts = err.errors.map((e) => {
      const message = String(e.message || '').replace(/^Value error, /, '');
      const said = /^(field )?required$/i.test(message) ? t('v_required') : message;
      return labels[e.field] ? `«${labels[e.field]}»: ${said}` : `${e.field}: ${said}`;
    });
    return t('e_validation', { detail: parts.join('; ') });
  }
  return detail;
}

// ---------------------------------------------------------------- numbers and dates

export function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = current === 'ru' ? ['КБ', 'МБ', 'ГБ'] : ['KB', 'MB', 'GB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v.toLocaleString(current, { maximumFractionDigits: v < 10 ? 1 : 0 })} ${units[i]}`;
}

function day(d) { return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime(); }

/** "14:05", "вчера 09:12", "3 мар 18:40" */
export function fmtWhen(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const time = d.toLocaleTimeString(current, { hour: '2-digit', minute: '2-digit' });
  const diff = (day(new Date()) - day(d)) / 86400000;
  if (diff === 0) return time;
  if (diff === 1) return `${t('yesterday')} ${time}`;
  const opts = { day: 'numeric', month: 'short' };
  if (d.getFullYear() !== new Date().getFullYear()) opts.year = 'numeric';
  return `${d.toLocaleDateString(current, opts)} ${time}`;
}

/** A source of an answer in words: "price.xlsx · лист «Прайс», строка 3". */
export function sourceLabel(src) {
  if (!src) return '';
  const parts = [];
  if (src.sheet) parts.push(t('src_sheet', { s: src.sheet }));
  if (src.row_start != null) {
    parts.push(src.row_end != null && src.row_end !== src.row_start
      ? t('src_rows', { a: src.row_start, b: src.row_end })
      : t('src_row', { a: src.row_start }));
  }
  if (src.page != null) parts.push(t('src_page', { p: src.page }));
  if (!src.filename) return src.label || '';
  return parts.length ? `${src.filename} · ${parts.join(', ')}` : src.filename;
}
