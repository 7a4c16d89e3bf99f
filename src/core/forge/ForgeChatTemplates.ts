import type { ForgeFamily } from './ForgeFamily.ts';

/**
 * Jinja chat templates for forged models, one per family, in each family's prompt format:
 * Llama-3 role headers, Mistral `[INST]` turns, Qwen2 ChatML. Written for Facet; they use only
 * the Jinja subset every template engine in use here understands.
 */
const templates: Record<ForgeFamily, string> = {
  llama3:
    "{{- bos_token }}" +
    "{%- for message in messages %}" +
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}" +
    "{%- endfor %}" +
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}",
  mistral:
    "{%- if messages[0]['role'] == 'system' %}" +
    "{%- set system_message = messages[0]['content'] + '\\n\\n' %}{%- set loop_messages = messages[1:] %}" +
    "{%- else %}{%- set system_message = '' %}{%- set loop_messages = messages %}{%- endif %}" +
    "{{- bos_token }}" +
    "{%- for message in loop_messages %}" +
    "{%- if message['role'] == 'user' %}" +
    "{%- if loop.first %}{{- '[INST] ' + system_message + message['content'] + ' [/INST]' }}" +
    "{%- else %}{{- '[INST] ' + message['content'] + ' [/INST]' }}{%- endif %}" +
    "{%- elif message['role'] == 'assistant' %}{{- ' ' + message['content'] + eos_token }}" +
    "{%- endif %}" +
    "{%- endfor %}",
  qwen2:
    "{%- for message in messages %}" +
    "{%- if loop.first and message['role'] != 'system' %}{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}" +
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}" +
    "{%- endfor %}" +
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}",
};

export function forgeChatTemplate(family: ForgeFamily): string {
  return templates[family];
}
